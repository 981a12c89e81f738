// End to end, really booted: the paper's five-node cluster deployed by the Workspace Service from
// the Figure 1 parameters, five QEMU guests (TCG when KVM does not work) in a private network
// namespace, each contextualized by its own agent against a configuration server on the namespace
// bridge: the first of the signed nodenames becomes the Slurm head (nobody asserts a profile), the
// others workers, and the head runs `srun -N4 hostname` across them and logs in to each worker over
// ssh. Everything below is what the guests printed on their serial consoles, and the readiness the
// workspace read from the agents' runs.
import { expect } from "chai";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runClusterDemo, SSH_USER, type ClusterDemoReport } from "../../demo/cluster.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const FQDNS = [1, 2, 3, 4, 5].map((i) => `node${i}.cluster`);

describe("e2e: the Figure 1 cluster, booted, contextualized as Slurm, running a job", function () {
  // Five TCG guests on 2 shared cores: 8-20 minutes with a cached image (the first build adds debootstrap).
  this.timeout(30 * 60_000);
  let report: ClusterDemoReport;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // network namespaces and taps need root
    report = await runClusterDemo({
      projectRoot,
      repo: join(projectRoot, "repo"),
      memoryMiB: 320,
      progress: (m) => process.stderr.write(`      [cluster] ${m}\n`),
    });
    process.stderr.write(`      [cluster] deploy -> all five ready: ${(report.ready.ms / 1000).toFixed(1)} s, -> all five contextualized: ${(report.allContextualizedMs / 1000).toFixed(1)} s, -> job output ${(report.job.ms / 1000).toFixed(1)} s (deploy call ${(report.deployMs / 1000).toFixed(1)} s, driver ${report.driver}/${report.accel})\n`);
  });

  it("gave the five nodes distinct addresses from the Figure 1 range and distinct locally administered MACs", () => {
    expect(report.nodes.map((n) => n.fqdn)).to.deep.equal(FQDNS);
    const addrs = report.nodes.map((n) => n.address);
    expect(new Set(addrs).size).to.equal(5);
    for (const a of addrs) expect(a).to.match(/^10\.0\.0\.(\d+)$/).and.not.equal("10.0.0.2");
    const macs = report.nodes.map((n) => n.mac);
    expect(new Set(macs).size).to.equal(5);
    for (const m of macs) expect(parseInt(m.slice(0, 2), 16) & 3, m).to.equal(2); // unicast, locally administered
  });

  it("every node turned ready: its first agent run was clean (0 bad entries, the ssh bundle included)", () => {
    expect(report.ready.errors).to.deep.equal([]);
    expect(report.ready.all).to.equal(true);
    for (const n of report.nodes) expect(n.readyMs, n.fqdn).to.be.a("number");
  });

  it("every node was contextualized by ONE agent run, and got resolv.conf from the DNSServer parameter", () => {
    for (const n of report.nodes) {
      expect(n.agentRuns, n.fqdn).to.have.length(1);
      expect(n.agentRuns[0], n.fqdn).to.match(/ exit 0 /);
      expect(n.files.get("/etc/resolv.conf"), n.fqdn).to.match(/^search cluster$/m).and.match(/^nameserver 10\.0\.0\.1\nnameserver 10\.0\.0\.2$/m);
    }
  });

  it("slurm.conf names the first of nodenames as controller and the four others as compute nodes, on every node", () => {
    const [head, ...workers] = report.nodes;
    for (const n of report.nodes) {
      const conf = n.files.get("/etc/slurm/slurm.conf") ?? "";
      expect(conf, n.fqdn).to.match(new RegExp(`^SlurmctldHost=node1\\(${head.address.replace(/\./g, "\\.")}\\)$`, "m"));
      expect(conf.match(/^NodeName=.*$/gm), n.fqdn).to.deep.equal(workers.map((w) => `NodeName=${w.fqdn.split(".")[0]} NodeAddr=${w.address} CPUs=1 State=UNKNOWN`));
    }
  });

  it("the head runs slurmctld, the workers slurmd, every node munged and sshd, each under its own host name", () => {
    const [head, ...workers] = report.nodes;
    expect(head.files.get("services")).to.equal("munge running\nssh running\nslurmctld running\nslurmd stopped\n");
    for (const w of workers) expect(w.files.get("services"), w.fqdn).to.equal("munge running\nssh running\nslurmctld stopped\nslurmd running\n");
    for (const n of report.nodes) expect(n.files.get("hostname"), n.fqdn).to.equal(`${n.fqdn.split(".")[0]}\n`);
  });

  it("the MUNGE key (a shared secret parameter) is 0600 and owned by munge on every node", () => {
    for (const n of report.nodes) expect(n.files.get("/etc/munge/munge.key"), n.fqdn).to.equal("600 munge:munge 64 bytes\n");
  });

  it("srun -N4 hostname on the head ran one task on each of the four workers", () => {
    expect(report.job.exit).to.equal(0);
    const names = report.job.output.filter((l) => /^node\d+$/.test(l)).sort();
    expect(names).to.deep.equal(["node2", "node3", "node4", "node5"]);
  });

  it("each node's ssh_known_hosts lists every node with the host key it was delivered, on the first run", () => {
    for (const n of report.nodes) {
      const kh = n.files.get("/etc/ssh/ssh_known_hosts") ?? "";
      for (const m of report.nodes) {
        expect(kh, `${n.fqdn} knows ${m.fqdn}`).to.match(new RegExp(`^${m.fqdn.split(".")[0]},${m.fqdn.replace(".", "\\.")},${m.address.replace(/\./g, "\\.")} ssh-ed25519 \\S+ root@${m.fqdn.replace(".", "\\.")}$`, "m"));
      }
    }
  });

  it("the cluster users exist in every node's /etc/passwd, each with the key of the users parameter", () => {
    for (const n of report.nodes) {
      const pw = n.files.get("passwd") ?? "";
      expect(pw, n.fqdn).to.match(/^alice:x:2001:2001:/m).and.match(/^bob:x:2002:2002:/m);
      const keys = n.files.get("authorized_keys") ?? "";
      expect(keys, n.fqdn).to.match(/^\/home\/alice\/\.ssh\/authorized_keys 600 alice\n {2}ssh-ed25519 \S+ alice@cluster-demo$/m);
      expect(keys, n.fqdn).to.match(/^\/home\/bob\/\.ssh\/authorized_keys 600 bob\n {2}ssh-ed25519 \S+Figure1BobKey\S+ bob@site$/m);
    }
  });

  it("the head logs in to every worker over ssh without a prompt: the delivered known_hosts vouches for each worker's host key", () => {
    // BatchMode and StrictHostKeyChecking=yes: an unknown or different host key fails the login
    expect(report.ssh.map((r) => r.worker)).to.deep.equal(["node2", "node3", "node4", "node5"]);
    for (const r of report.ssh) expect(r, `ssh ${SSH_USER}@${r.worker}`).to.deep.equal({ worker: r.worker, exit: 0, output: r.worker });
  });

  it("pause stops every guest (hypervisor says paused, console silent) and reactivation resumes it", () => {
    expect(report.pause.observed).to.deep.equal(["paused", "paused", "paused", "paused", "paused"]);
    expect(report.pause.serialGrewWhilePaused).to.equal(false);
    expect(report.pause.ticksAfterUnpause).to.equal(true);
  });

  it("TTL expiry: the reaper powers the VM off and gives its address back", () => {
    expect(report.ttl.reaped).to.deep.equal([report.ttl.vm]);
    expect(report.ttl.phase).to.equal("expired");
    expect(report.ttl.addressReleased).to.equal(true);
    expect(report.ttl.poweredOffGracefully).to.equal(true);
  });

  it("shutdown of the group powers every guest off through ACPI; destroy leaves no lease", () => {
    expect(report.shutdown.phases).to.deep.equal(["shutdown", "shutdown", "shutdown", "shutdown", "expired"]);
    expect(report.shutdown.poweredOffGracefully).to.deep.equal([true, true, true, true]);
    expect(report.shutdown.stillListedByDriver).to.deep.equal([]);
    expect(report.leasesAfterDestroy).to.equal(0);
  });
});
