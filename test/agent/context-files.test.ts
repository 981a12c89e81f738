// Parameters → host identity (issue 14): the cluster template is assembled for real (site CA, signing
// key, generated ssh host keys, MUNGE key), and the real agent, over TLS against the real server on the
// example repository, installs each node's host certificate and key, ssh host key and secrets from its
// signed parameters into a sandbox root with their owners and modes. ssh_known_hosts lists every node
// with its delivered key on the node's FIRST run, before any other node ever talked to the server; a
// worker that puts itself first in nodenames does not become the Slurm head.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ACCOUNTS, addPackageAccounts } from "../../demo/sandbox-repo.js";
import { TORQUE_CONTEXT_TEMPLATE, figure1Site } from "../../demo/torque-appliance.js";
import { assemble, type AssembledNode } from "../../hypervisor/ctx/assemble.js";
import { writeSiteCa } from "../../hypervisor/ctx/site-ca.js";
import { parseContextTemplate } from "../../protocol/ctx-template.js";
import { CONTEXT_FILE_PATH, serializeParameterFile } from "../../protocol/params.js";
import { CTX_SIGNING_KEY } from "../../server/admin/ctx-signing-key.js";
import { startTestSite, type TestSite } from "../server/http/site.js";
import { addShell, makeBaseRoot, removeDir, runAgentProcess, tempDir } from "./fixtures.js";

const MUNGE = PACKAGE_ACCOUNTS.find((a) => a.name === "munge")!;

describe("host identity and secrets from the signed parameters (real agent, real server over TLS)", function () {
  this.timeout(120_000);
  let site: TestSite;
  let work: string;
  let nodes: AssembledNode[];
  const prefix = `n${randomBytes(3).toString("hex")}`;
  before(async () => {
    site = await startTestSite();
    work = tempDir("vacfg-context-files-");
    const ca = writeSiteCa(join(work, "ca"));
    nodes = assemble(parseContextTemplate(TORQUE_CONTEXT_TEMPLATE), figure1Site(ca, join(site.dir, CTX_SIGNING_KEY)), {
      names: [1, 2, 3].map((i) => `${prefix}${i}`),
      users: [{ name: "carol", value: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGVpc3N1ZTE0Y2Fyb2xrZXl4eHh4eHh4eHh4eHh4eHh4 carol@site" }],
    });
  });
  after(async () => {
    await site?.cleanup();
    if (work) removeDir(work);
  });

  const item = (n: AssembledNode, param: string, name: string) => {
    const v = n.params.get(param);
    return v?.kind === "list" ? v.items.find((i) => i.name === name)?.value : undefined;
  };
  const value = (n: AssembledNode, param: string) => {
    const v = n.params.get(param);
    return v?.kind === "value" ? v.value : undefined;
  };

  /** A root with the accounts the Debian packages would have made, and the node's parameter file as delivered. */
  function rootFor(n: AssembledNode, file = serializeParameterFile(n.params, n.signature)): string {
    const root = join(work, n.fqdn);
    makeBaseRoot(root);
    addShell(root);
    addPackageAccounts(root);
    mkdirSync(join(root, "etc/vacfg"), { recursive: true });
    writeFileSync(join(root, CONTEXT_FILE_PATH), file, { mode: 0o600 });
    return root;
  }
  async function runAgent(n: AssembledNode, root: string, extra: string[] = []): Promise<string> {
    const cache = join(work, `${n.fqdn}.config.xml`);
    const r = await runAgentProcess(["-S", site.server.url, "-u", n.fqdn, "-x", "labsecret", "--ca", join(site.tlsDir, "ca.crt"), "--root", root, "-c", cache, ...extra]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    return readFileSync(cache, "utf8");
  }
  const fileOf = (root: string, path: string) => {
    const st = statSync(join(root, path));
    return { text: readFileSync(join(root, path), "utf8"), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  };

  it("a worker's first run installs its certificate, key, ssh host key and secrets at their paths with their modes", async () => {
    const w = nodes[1];
    const root = rootFor(w);
    await runAgent(w, root, ["-b", "host-identity", "-b", "ssh", "-b", "slurm-common"]);
    expect(fileOf(root, "etc/vacfg/host.crt")).to.deep.include({ text: item(w, "hostcert", "cert"), mode: 0o644, uid: 0 });
    expect(fileOf(root, "etc/vacfg/host.key")).to.deep.include({ text: item(w, "hostcert", "key"), mode: 0o600, uid: 0 });
    expect(fileOf(root, "etc/vacfg/site-ca.crt")).to.deep.include({ text: item(w, "hostcert", "ca"), mode: 0o644 });
    expect(item(w, "hostcert", "cert")).to.contain("BEGIN CERTIFICATE");
    expect(fileOf(root, "etc/vacfg/rootpw")).to.deep.include({ text: value(w, "rootpw"), mode: 0o600, uid: 0 });
    expect(fileOf(root, "etc/ssh/ssh_host_ed25519_key")).to.deep.include({ text: item(w, "sshhostkey", "private"), mode: 0o600, uid: 0 });
    expect(fileOf(root, "etc/ssh/ssh_host_ed25519_key.pub").text.trim()).to.equal(item(w, "sshhostkey", "public")!.trim());
    expect(fileOf(root, "etc/ssh/ssh_host_ed25519_key.pub").mode).to.equal(0o644);
    // the MUNGE key: one shared secret for the deployment, 0600 and owned by munge
    expect(fileOf(root, "etc/munge/munge.key")).to.deep.include({ text: value(w, "mungekey"), mode: 0o600, uid: MUNGE.uid, gid: MUNGE.gid });
    expect(value(w, "mungekey")).to.have.length.of.at.least(32).and.equal(value(nodes[0], "mungekey"));
    // nothing of it is in the repository
    for (const secret of [item(w, "hostcert", "key")!, value(w, "mungekey")!, item(w, "sshhostkey", "private")!]) {
      expect(repoHolds(join(site.dir, "repo"), secret.trim().split("\n")[1] ?? secret)).to.equal(false);
    }
  });

  it("ssh_known_hosts lists every node of the deployment with its delivered key on the node's first run", async () => {
    const n = nodes[2];
    const root = rootFor(n);
    await runAgent(n, root, ["-b", "ssh"]);
    const kh = readFileSync(join(root, "etc/ssh/ssh_known_hosts"), "utf8");
    for (const other of nodes) {
      const line = kh.split("\n").find((l) => l.startsWith(`${other.name},${other.fqdn},`));
      expect(line, `${other.fqdn} in known_hosts`).to.equal(`${other.name},${other.fqdn},${other.address} ${item(other, "sshhostkey", "public")!.trim()}`);
    }
    expect(kh).to.contain(`localhost,localhost.localdomain,127.0.0.1 ${item(n, "sshhostkey", "public")!.trim()}`);
  });

  it("the head is the first of the signed nodenames; a worker claiming first (edited or unsigned file) stays a worker", async () => {
    const bundles = (config: string) => [...config.matchAll(/<Bundle name="([^"]+)"/g)].map((m) => m[1]);
    const head = await runAgent(nodes[0], rootFor(nodes[0]), ["-n"]);
    expect(bundles(head)).to.include("slurm-head").and.not.include("slurm-worker");
    const w = nodes[1];
    const signed = serializeParameterFile(w.params, w.signature);
    const [a, b] = [`<Item value="${nodes[0].fqdn}"/>`, `<Item value="${w.fqdn}"/>`];
    const swapped = signed.replace(a, "@@").replace(b, a).replace("@@", b);
    expect(swapped).to.not.equal(signed);
    for (const file of [swapped, serializeParameterFile(new Map([...w.params]))]) {
      const got = bundles(await runAgent(w, rootFor(w, file), ["-n"]));
      expect(got).to.not.include("slurm-head").and.not.include("slurm-worker");
    }
    expect(bundles(await runAgent(w, rootFor(w), ["-n"]))).to.include("slurm-worker").and.not.include("slurm-head");
  });
});

/** Does any file below dir (the served repository, SSHbase keys included) hold this text? */
function repoHolds(dir: string, text: string): boolean {
  return spawnSync("grep", ["-rqF", "--", text, dir]).status === 0;
}
