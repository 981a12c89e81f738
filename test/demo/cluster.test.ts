// End to end, really booted: the paper's five-node Torque cluster deployed by the Workspace
// Service from the Figure 1 parameters, five QEMU guests (TCG when KVM does not work) in a
// private network namespace, each contextualized by its own agent against a configuration server
// on the namespace bridge. Everything below is what the guests printed on their serial consoles.
import { expect } from "chai";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runClusterDemo, type ClusterDemoReport } from "../../demo/cluster.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const FQDNS = [1, 2, 3, 4, 5].map((i) => `node${i}.cluster`);

describe("e2e: the Figure 1 Torque cluster, booted", function () {
  // A cached appliance image makes this about 3 minutes on 2 cores; the first build adds debootstrap.
  this.timeout(15 * 60_000);
  let report: ClusterDemoReport;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // network namespaces and taps need root
    report = await runClusterDemo({
      projectRoot,
      repo: join(projectRoot, "repo"),
      memoryMiB: 320,
      progress: (m) => process.stderr.write(`      [cluster] ${m}\n`),
    });
    process.stderr.write(`      [cluster] deploy -> all five contextualized: ${(report.allContextualizedMs / 1000).toFixed(1)} s (deploy call ${(report.deployMs / 1000).toFixed(1)} s, driver ${report.driver}/${report.accel})\n`);
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

  it("every guest's agent run finished, and every node got resolv.conf from the DNSServer parameter", () => {
    for (const n of report.nodes) {
      expect(n.agentRuns.length, n.fqdn).to.be.greaterThan(0);
      expect(n.agentRuns[n.agentRuns.length - 1], n.fqdn).to.match(/ exit 0 /);
      expect(n.files.get("/etc/resolv.conf"), n.fqdn).to.match(/^search cluster$/m).and.match(/^nameserver 10\.0\.0\.1\nnameserver 10\.0\.0\.2$/m);
    }
  });

  it("the head node (first of nodenames) is the Torque server with the four workers in its nodes file", () => {
    const head = report.nodes[0];
    expect(head.files.get("/var/spool/torque/server_name")).to.equal("node1.cluster\n");
    expect(head.files.get("/var/spool/torque/server_priv/nodes")).to.equal(FQDNS.slice(1).map((f) => `${f} np=1\n`).join(""));
    expect(head.files.get("/var/spool/torque/mom_priv/config")).to.match(/No such file/);
  });

  it("every worker points at the head node and has no server nodes file", () => {
    for (const w of report.nodes.slice(1)) {
      expect(w.files.get("/var/spool/torque/server_name"), w.fqdn).to.equal("node1.cluster\n");
      expect(w.files.get("/var/spool/torque/mom_priv/config"), w.fqdn).to.match(/^\$pbsserver node1\.cluster$/m);
      expect(w.files.get("/var/spool/torque/server_priv/nodes"), w.fqdn).to.match(/No such file/);
    }
  });

  it("each node's ssh_known_hosts trusts every node of the cluster by name", () => {
    for (const n of report.nodes) {
      const kh = n.files.get("/etc/ssh/ssh_known_hosts") ?? "";
      for (const f of FQDNS) expect(kh, `${n.fqdn} knows ${f}`).to.match(new RegExp(`^${f.split(".")[0]},${f.replace(".", "\\.")} (ssh-ed25519|ecdsa-sha2-nistp256) `, "m"));
    }
  });

  it("the cluster users exist in every node's /etc/passwd", () => {
    for (const n of report.nodes) {
      const pw = n.files.get("passwd") ?? "";
      expect(pw, n.fqdn).to.match(/^alice:x:2001:2001:/m).and.match(/^bob:x:2002:2002:/m);
    }
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
