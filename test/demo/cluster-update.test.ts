// Changed parameters reach booted nodes: a two-node Slurm cluster of the cluster appliance deployed
// with `vacfg deploy --wait` from users, keys, node names and a domain made up by this run (nowhere
// in the repository), then redeployed with `vacfg deploy --update --wait` after a user was added,
// one's key changed and one removed. Each time the guests print their accounts, authorized_keys,
// slurm.conf and daemons on their consoles, and the head logs in to the worker over ssh with the
// user's key, trusting the worker's host key only through the delivered known_hosts; the update
// keeps every node's address, MAC and host key. QEMU guests (TCG when KVM does not work) in a
// private network namespace (`vacfg-cluster-PID`, bridge `brcluster`), VMs `cluster-…`.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guestAgentConfig } from "../../demo/agent-config.js";
import { clusterGuestScript, MARK, parseShownFiles, parseSshChecks } from "../../demo/guest-script.js";
import { startServerInNetns, type NetnsServer } from "../../demo/netns-server.js";
import { TORQUE_CONTEXT_TEMPLATE } from "../../demo/torque-appliance.js";
import { resolveCacheDir, stderrProgress } from "../../hypervisor/appliance/cache.js";
import { CLUSTER_PACKAGES } from "../../hypervisor/appliance/rootfs.js";
import type { SiteFile } from "../../hypervisor/ctx/site.js";
import { writeSiteCa } from "../../hypervisor/ctx/site-ca.js";
import { generateSshHostKey } from "../../hypervisor/ctx/ssh-host-key.js";
import { createNetns, destroyNetns } from "../../hypervisor/vm/netns.js";
import { waitForSerial } from "../../hypervisor/vm/serial.js";
import { KIND, type VmRecord } from "../../hypervisor/workspace/types.js";
import { projectAgentAppliance } from "../../harness/agent-appliance.js";
import { CTX_SIGNING_KEY, ensureCtxSigningKey, publicKeyPathFor } from "../../server/admin/ctx-signing-key.js";
import { createCa, issueCertificate } from "../../server/admin/tls-material.js";
import { openStore } from "../../server/store/open-store.js";
import type { Store } from "../../server/store/store.js";
import { exampleRepo, projectRoot } from "../support/paths.js";
import { vacfgCli } from "../support/vacfg-cli.js";

const rand = (n = 4) => randomBytes(n).toString("hex");



interface Shown {
  files: Map<string, string>;
  ssh: Map<string, { exit: number; output: string }> | undefined;
}

describe("e2e: changed users, keys and node names reach the nodes through vacfg deploy --update", function () {
  // Two TCG guests, booted twice, on 2 shared cores: 6-15 minutes with a cached image.
  this.timeout(40 * 60_000);
  const netns = `vacfg-cluster-${process.pid}`;
  const deployment = `cluster-${rand(2)}`;
  // Nothing of these is in the repository: made up for this run.
  const domain = `c${rand()}.test`;
  const head = `h${rand()}`;
  const worker = `w${rand()}`;
  const [kept, rekeyed, removed, added] = [`k${rand()}`, `r${rand()}`, `x${rand()}`, `a${rand()}`];
  const keys = { kept: generateSshHostKey(`${kept}@site`), rekeyedOld: generateSshHostKey(`${rekeyed}@old`), rekeyedNew: generateSshHostKey(`${rekeyed}@new`), removed: generateSshHostKey(`${removed}@site`), added: generateSshHostKey(`${added}@site`) };
  const KEY_FILE = "/root/.ssh/update-test.key";
  let work: string;
  let store: Store;
  let server: NetnsServer;
  let wsConfig: string;
  let serverCa: string;
  let password: string;
  const first = new Map<string, Shown>();
  const second = new Map<string, Shown>();
  let vmsBefore: VmRecord[];
  let vmsAfter: VmRecord[];

  /** The request; the head logs in to the worker as `login` with `headKey`. */
  const request = (users: Array<{ name: string; value: string }>, login: string, headKey: string) => ({
    name: deployment,
    appliance: "cluster",
    instance: { names: [head, worker], users },
    resources: { memoryMiB: 320 },
    files: [
      { path: "/etc/vacfg/server-ca.pem", content: serverCa },
      { path: "/etc/vacfg/boot.sh", content: clusterGuestScript({ ssh: { user: login, keyFile: KEY_FILE } }), mode: 0o755 },
    ],
    nodeFiles: {
      [head]: [{ path: "/etc/vacfg.conf", content: guestAgentConfig(server.url, `${head}.${domain}`, password), mode: 0o600 }, { path: KEY_FILE, content: headKey, mode: 0o600 }],
      [worker]: [{ path: "/etc/vacfg.conf", content: guestAgentConfig(server.url, `${worker}.${domain}`, password), mode: 0o600 }],
    },
  });

  /** What each guest printed once contextualized, and the head's ssh logins. */
  async function shown(vms: VmRecord[], into: Map<string, Shown>): Promise<void> {
    for (const vm of vms) {
      const log = await waitForSerial(vm.serialLog, vm.node === head ? MARK.sshEnd : MARK.done, { timeoutMs: 10 * 60_000, pollMs: 1000 });
      into.set(vm.node, { files: parseShownFiles(log), ssh: parseSshChecks(log) });
    }
  }

  before(async function () {
    if (process.getuid?.() !== 0) throw new Error("needs root: network namespaces and taps");
    const cacheDir = await resolveCacheDir();
    const image = await projectAgentAppliance(projectRoot, cacheDir, stderrProgress, { packages: CLUSTER_PACKAGES });
    work = await mkdtemp(join(tmpdir(), "vclu-"));
    const ns = await createNetns({ name: netns, cidr: "10.0.0.0/24", taps: 2, bridge: "brcluster", tapPrefix: "cluster" });
    const bridgeIp = ns.bridgeAddress.split("/")[0];

    const serverDir = join(work, "server");
    await mkdir(serverDir);
    const repo = join(serverDir, "repo");
    await cp(exampleRepo, repo, { recursive: true });
    const siteDir = join(work, "site");
    await mkdir(siteDir);
    const signingKey = join(siteDir, CTX_SIGNING_KEY);
    ensureCtxSigningKey(signingKey);
    const ca = createCa("vacfg cluster update test CA");
    const cert = issueCertificate(ca, { cn: bridgeIp, altNames: [bridgeIp], usage: "server" });
    serverCa = ca.certPem;
    password = randomBytes(12).toString("base64url");
    server = await startServerInNetns(netns, { repo, dataDir: serverDir, host: bridgeIp, password, tls: { cert: cert.certPem, key: cert.keyPem, ca: ca.certPem }, contextKeys: [await readFile(publicKeyPathFor(signingKey), "utf8")], logLevel: "info" });
    store = await openStore(`sqlite:${join(serverDir, "store.db")}`);

    // The operator's files: site, template, workspace.json sharing the server's store.
    const site: SiteFile = {
      signingKey,
      domain,
      dnsServers: [bridgeIp],
      pools: { cluster: { cidr: "10.0.0.0/24", range: ["10.0.0.10", "10.0.0.99"], gateway: bridgeIp } },
      ca: writeSiteCa(join(siteDir, "ca")),
    };
    writeFileSync(join(siteDir, "site.json"), JSON.stringify(site));
    writeFileSync(join(siteDir, "cluster.ctx.xml"), TORQUE_CONTEXT_TEMPLATE);
    wsConfig = join(work, "workspace.json");
    writeFileSync(wsConfig, JSON.stringify({
      store: `sqlite:${join(serverDir, "store.db")}`,
      stateDir: join(work, "vms"),
      site: join(siteDir, "site.json"),
      appliances: { cluster: { template: join(siteDir, "cluster.ctx.xml"), base: image.base, kernel: image.vmlinuz, initrd: image.initrd, command: "sh /etc/vacfg/boot.sh" } },
      // no accel: the CLI decides KVM or TCG by a trial boot of the appliance's kernel
      network: { netns, taps: ns.taps },
    }));
  });

  // The guests' consoles are the only record of what went wrong inside them: keep them on a failure.
  afterEach(async function () {
    if (this.currentTest?.state !== "failed" || !work) return;
    const kept = await mkdtemp(join(tmpdir(), "vacfg-cluster-update-logs-"));
    await cp(join(work, "vms"), kept, { recursive: true, filter: (f) => !f.endsWith(".qcow2") }).catch(() => undefined);
    console.log(`      the guests' serial logs are kept in ${kept}`);
  });

  after(async () => {
    if (wsConfig) await vacfgCli(["vm", "destroy", deployment, "-w", wsConfig]);
    await store?.close();
    await server?.stop();
    await destroyNetns(netns);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("vacfg deploy --wait returns once both nodes are ready (their first clean run)", async () => {
    const users = [{ name: kept, value: keys.kept.publicKey.trim() }, { name: rekeyed, value: keys.rekeyedOld.publicKey.trim() }, { name: removed, value: keys.removed.publicKey.trim() }];
    writeFileSync(join(work, "request.json"), JSON.stringify(request(users, kept, keys.kept.privateKey)));
    const r = await vacfgCli(["deploy", join(work, "request.json"), "-w", wsConfig, "--wait", "--timeout", "1500"]);
    console.log(`      deploy -> both ready: ${(r.ms / 1000).toFixed(1)} s (CLI, process start included)`);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    for (const n of [head, worker]) expect(r.stdout).to.match(new RegExp(`^${deployment}-${n}\\tready\\tcontextualized `, "m"));
    vmsBefore = (await store.list<VmRecord>(KIND.vm)).map((x) => x.value);
    await shown(vmsBefore, first);
  });

  it("the nodes have the made-up users with their keys, and the first of the node names is the Slurm head", () => {
    for (const n of [head, worker]) {
      const f = first.get(n)!.files;
      const pw = f.get("passwd") ?? "";
      expect(pw, n).to.match(new RegExp(`^${kept}:x:2001:2001:`, "m")).and.match(new RegExp(`^${rekeyed}:x:2002:2002:`, "m")).and.match(new RegExp(`^${removed}:x:2003:2003:`, "m"));
      const ak = f.get("authorized_keys") ?? "";
      expect(ak, n).to.contain(`/home/${kept}/.ssh/authorized_keys 600 ${kept}\n  ${keys.kept.publicKey.trim()}\n`);
      expect(ak, n).to.contain(`/home/${rekeyed}/.ssh/authorized_keys 600 ${rekeyed}\n  ${keys.rekeyedOld.publicKey.trim()}\n`);
      expect(ak, n).to.contain(`/home/${removed}/.ssh/authorized_keys 600 ${removed}\n`);
      const conf = f.get("/etc/slurm/slurm.conf") ?? "";
      expect(conf, n).to.match(new RegExp(`^SlurmctldHost=${head}\\(`, "m"));
      expect(conf.match(/^NodeName=\S+/gm), n).to.deep.equal([`NodeName=${worker}`]);
      expect(f.get("hostname"), n).to.equal(`${n}\n`);
    }
    expect(first.get(head)!.files.get("services")).to.equal("munge running\nssh running\nslurmctld running\nslurmd stopped\n");
    expect(first.get(worker)!.files.get("services")).to.equal("munge running\nssh running\nslurmctld stopped\nslurmd running\n");
    // the head reaches the worker over ssh as the first user, the host key vouched for by known_hosts
    expect(Object.fromEntries(first.get(head)!.ssh ?? [])).to.deep.equal({ [worker]: { exit: 0, output: worker } });
  });

  it("vacfg deploy --update --wait: a user added, a key changed, a user removed; both nodes ready again", async () => {
    const users = [{ name: kept, value: keys.kept.publicKey.trim() }, { name: rekeyed, value: keys.rekeyedNew.publicKey.trim() }, { name: added, value: keys.added.publicKey.trim() }];
    // the head now logs in as the re-keyed user, with the new key
    const req = request(users, rekeyed, keys.rekeyedNew.privateKey);
    writeFileSync(join(work, "request2.json"), JSON.stringify(req));
    const r = await vacfgCli(["deploy", join(work, "request2.json"), "-w", wsConfig, "--update", "--wait", "--timeout", "1500"]);
    console.log(`      update -> both ready: ${(r.ms / 1000).toFixed(1)} s (CLI, process start included)`);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`deployment ${deployment} updated: 2 VM(s)`);
    vmsAfter = (await store.list<VmRecord>(KIND.vm)).map((x) => x.value);
    await shown(vmsAfter, second);
  });

  it("the change is on the nodes: the added user and the new key are there, the old key and the removed user are not", () => {
    for (const n of [head, worker]) {
      const f = second.get(n)!.files;
      const pw = f.get("passwd") ?? "";
      // uids follow the position in the new list
      expect(pw, n).to.match(new RegExp(`^${kept}:x:2001:2001:`, "m")).and.match(new RegExp(`^${rekeyed}:x:2002:2002:`, "m")).and.match(new RegExp(`^${added}:x:2003:2003:`, "m"));
      expect(pw, n).not.to.contain(`${removed}:`);
      const ak = f.get("authorized_keys") ?? "";
      expect(ak, n).to.contain(`/home/${rekeyed}/.ssh/authorized_keys 600 ${rekeyed}\n  ${keys.rekeyedNew.publicKey.trim()}\n`);
      expect(ak, n).to.contain(`/home/${added}/.ssh/authorized_keys 600 ${added}\n  ${keys.added.publicKey.trim()}\n`);
      expect(ak, n).not.to.contain(keys.rekeyedOld.publicKey.trim());
      expect(ak, n).not.to.contain(`/home/${removed}/`);
      expect(f.get("/etc/slurm/slurm.conf"), n).to.match(new RegExp(`^SlurmctldHost=${head}\\(`, "m"));
    }
    expect(second.get(head)!.files.get("services")).to.equal("munge running\nssh running\nslurmctld running\nslurmd stopped\n");
    expect(second.get(worker)!.files.get("services")).to.equal("munge running\nssh running\nslurmctld stopped\nslurmd running\n");
    expect(Object.fromEntries(second.get(head)!.ssh ?? [])).to.deep.equal({ [worker]: { exit: 0, output: worker } });
  });

  it("the update kept each node's address, MAC and ssh host key (known_hosts unchanged)", () => {
    const pick = (vms: VmRecord[]) => Object.fromEntries(vms.map((v) => [v.name, [v.address, v.mac, v.createdAt]]));
    expect(pick(vmsAfter)).to.deep.equal(pick(vmsBefore));
    for (const v of vmsAfter) expect(v.bootedAt, v.name).to.be.greaterThan(v.createdAt);
    for (const n of [head, worker]) {
      const kh = first.get(n)!.files.get("/etc/ssh/ssh_known_hosts");
      expect(kh, n).to.match(new RegExp(`^${worker},${worker}\\.${domain.replace(".", "\\.")},10\\.0\\.0\\.\\d+ ssh-ed25519 `, "m"));
      expect(second.get(n)!.files.get("/etc/ssh/ssh_known_hosts"), n).to.equal(kh);
    }
  });
});
