// The agent against the vacfg server (startServer, real Core, real SQLite) over TLS, on the
// example repository: a Torque head node and a worker applied into sandbox roots with real
// apt/dpkg and systemctl --root; statistics and context probe data land in the server's store.
import { expect } from "chai";
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serializeParameterFile } from "../../protocol/params.js";
import { startTestSite, type TestSite } from "../server/http/site.js";
import { buildAptRepo, removeDir, runAgentProcess, sandboxRoot, snapshot, tempDir, torquePackages } from "./fixtures.js";
import { names, readStats } from "./stats.js";

describe("agent against the vacfg server (TLS, example repository)", function () {
  let site: TestSite;
  let work: string;
  let repo: string;
  before(async () => {
    site = await startTestSite();
    work = tempDir("vacfg-agent-own-");
    repo = buildAptRepo(work, torquePackages());
  });
  after(async () => {
    await site?.cleanup();
    if (work) removeDir(work);
  });
  const newRoot = (name: string) => sandboxRoot(work, name, repo);
  const agent = (root: string, client: string, password: string, stats: string, extra: string[] = []) =>
    runAgentProcess(["-S", site.server.url, "-u", client, "-x", password, "--ca", join(site.tlsDir, "ca.crt"), "--root", root, "--stats-file", stats, "-v", ...extra]);

  describe("head node0", () => {
    let root: string;
    before(() => {
      root = newRoot("node0");
      // the parameter file a deployment would have patched into the image
      mkdirSync(join(root, "etc/vacfg"), { recursive: true });
      writeFileSync(join(root, "etc/vacfg/context.xml"), serializeParameterFile(new Map([["cluster_name", { kind: "value", value: "demo-cluster" }]])));
    });

    it("first run creates every file, user, host key, package and service link; the qmgr action runs; clean", async () => {
      const stats = join(work, "own-n0-1.xml");
      const r = await agent(root, "node0", "node0secret", stats);
      expect(r.code, r.stderr).to.equal(0);
      const s = readStats(stats);
      expect(names(s.bad), r.stderr).to.deep.equal([]);
      expect(s.state).to.equal("clean");
      // ssh host keys: private 0600, public 0644, ~/.ssh 0700
      expect(statSync(join(root, "etc/ssh/ssh_host_ed25519_key")).mode & 0o7777).to.equal(0o600);
      expect(readFileSync(join(root, "etc/ssh/ssh_host_ed25519_key"), "utf8")).to.contain("PRIVATE KEY");
      expect(statSync(join(root, "etc/ssh/ssh_host_ed25519_key.pub")).mode & 0o7777).to.equal(0o644);
      expect(statSync(join(root, "root/.ssh")).mode & 0o7777).to.equal(0o700);
      expect(existsSync(join(root, "root/.ssh/authorized_keys"))).to.equal(true);
      // users: the head-only torqueadm; the cluster's people come only from signed parameters (context-users.test)
      const passwd = readFileSync(join(root, "etc/passwd"), "utf8");
      expect(passwd).to.match(/^torqueadm:x:2100:2000:/m).and.not.match(/^(alice|bob):/m);
      expect(readFileSync(join(root, "etc/shadow"), "utf8")).to.match(/^torqueadm:!:/m);
      expect(readFileSync(join(root, "etc/group"), "utf8")).to.match(/^cluster:x:2000:torqueadm$/m);
      // packages, services, and the post action of the modified torque-server bundle (chrooted)
      expect(readFileSync(join(root, "var/lib/dpkg/status"), "utf8")).to.match(/Package: torque-server\nStatus: install ok installed/);
      expect(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/pbs_server.service"))).to.equal("/lib/systemd/system/pbs_server.service");
      expect(readFileSync(join(root, "var/log/qmgr.log"), "utf8")).to.equal("-c set server scheduling = True\n");
      expect(readFileSync(join(root, "var/spool/torque/server_priv/nodes"), "utf8").length).to.be.greaterThan(0);
      // statistics and the vacfg-context probe reached the server's store
      const runs = await site.server.core.store.listRuns({ client: "node0" });
      expect(runs.length).to.equal(1);
      expect(runs[0].state).to.equal("clean");
      expect(runs[0].modified).to.equal(s.modified.length);
      const probes = await site.server.core.store.getProbeData("node0");
      const ctx = probes?.values.find((v) => v.name === "vacfg-context");
      expect(ctx?.value).to.equal('{"cluster_name":"demo-cluster"}');
    });

    it("a second run changes nothing and reports clean", async () => {
      const before = snapshot(root);
      const stats = join(work, "own-n0-2.xml");
      const r = await agent(root, "node0", "node0secret", stats);
      expect(r.code, r.stderr).to.equal(0);
      const s = readStats(stats);
      expect(s.state).to.equal("clean");
      expect(s.modified).to.deep.equal([]);
      const after = snapshot(root);
      expect([...after].filter(([p, v]) => before.get(p) !== v).map(([p]) => p)).to.deep.equal([]);
      expect(after.size).to.equal(before.size);
      const runs = await site.server.core.store.listRuns({ client: "node0" });
      expect(runs.length).to.equal(2);
    });

    it("a tampered host key is reported by a dry run and repaired by the next run", async () => {
      const key = join(root, "etc/ssh/ssh_host_ed25519_key");
      const good = readFileSync(key);
      chmodSync(key, 0o644);
      const dry = join(work, "own-n0-dry.xml");
      const r1 = await agent(root, "node0", "node0secret", dry, ["-n"]);
      expect(r1.code, r1.stderr).to.equal(0);
      const bad = readStats(dry).bad;
      expect(names(bad)).to.deep.equal(["Path:/etc/ssh/ssh_host_ed25519_key"]);
      expect(bad[0].attrs.current_mode).to.equal("0644");
      expect(statSync(key).mode & 0o7777).to.equal(0o644);
      const r2 = await agent(root, "node0", "node0secret", join(work, "own-n0-fix.xml"));
      expect(r2.code, r2.stderr).to.equal(0);
      expect(statSync(key).mode & 0o7777).to.equal(0o600);
      expect(readFileSync(key).equals(good)).to.equal(true);
      const runs = await site.server.core.store.listRuns({ client: "node0" });
      expect(runs.map((x) => x.dryRun)).to.include(true);
    });
  });

  it("worker node1: first run installs the MOM bundle and is clean; no head-only entries", async () => {
    const root = newRoot("node1");
    const stats = join(work, "own-n1.xml");
    const r = await agent(root, "node1", "labsecret", stats);
    expect(r.code, r.stderr).to.equal(0);
    const s = readStats(stats);
    expect(names(s.bad), r.stderr).to.deep.equal([]);
    expect(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/pbs_mom.service"))).to.equal("/lib/systemd/system/pbs_mom.service");
    expect(existsSync(join(root, "var/spool/torque/server_priv"))).to.equal(false);
    expect(readFileSync(join(root, "etc/passwd"), "utf8")).to.not.contain("torqueadm");
  });

  it("exits 2 when the server refuses the statistics upload (a server whose body limit is too small for RecvStats)", async () => {
    const tight = await site.another({ bodyLimit: 4096 });
    try {
      const root = newRoot("tight");
      const r = await runAgentProcess(["-S", tight.url, "-u", "node1", "-x", "labsecret", "--ca", join(site.tlsDir, "ca.crt"), "--root", root, "-n", "-y", "0.1"]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.contain("Failed to upload configuration statistics").and.contain("HTTP 413");
    } finally {
      await tight.close();
    }
  });
  it("delivers the parameters to templates when the repository has no vacfg-context probe of its own", async () => {
    rmSync(join(site.config.settings.repo, "Probes/vacfg-context"));
    const root = newRoot("node3");
    mkdirSync(join(root, "etc/vacfg"), { recursive: true });
    const params = new Map([
      ["DNSServer", { kind: "list" as const, items: [{ value: "10.0.0.1" }, { value: "10.0.0.2" }] }],
      ["domain", { kind: "value" as const, value: "cluster" }],
    ]);
    writeFileSync(join(root, "etc/vacfg/context.xml"), serializeParameterFile(params));
    const r = await agent(root, "node3", "labsecret", join(work, "own-n3.xml"));
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(join(root, "etc/resolv.conf"), "utf8")).to.match(/^search cluster$/m).and.match(/^nameserver 10\.0\.0\.1\nnameserver 10\.0\.0\.2$/m);
  });
});
