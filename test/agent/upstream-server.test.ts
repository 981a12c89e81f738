// The agent against the real upstream Bcfg2 server over TLS, on the lab repository (Torque head
// node0 and worker node1), into sandbox roots with real apt/dpkg and systemctl --root.
import { expect } from "chai";
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bcfg2RefInstall, bcfg2RefKit } from "../support/paths.js";
import { execFileSync } from "node:child_process";
import { ensureUpstreamInstalled, freePort, upstreamCall } from "../support/upstream-bcfg2.js";
import { buildAptRepo, removeDir, runAgentProcess, sandboxRoot, snapshot, tempDir, torquePackages } from "./fixtures.js";
import { names, readStats } from "./stats.js";

const CA = join(bcfg2RefInstall, "certs/ca.crt");

interface Server {
  url: string;
  stop(): void;
}

/** The upstream server on a private copy of the lab repository, served in place. */
function startServer(repoDir: string, port: number): Server {
  const env = { ...process.env, BCFG2_REF: bcfg2RefInstall };
  execFileSync(join(bcfg2RefInstall, "start-server.sh"), ["--repo", repoDir, "--port", String(port), "--in-place"], { env, stdio: "pipe" });
  return { url: `https://127.0.0.1:${port}`, stop: () => execFileSync(join(bcfg2RefInstall, "stop-server.sh"), ["--port", String(port)], { env, stdio: "pipe" }) };
}

describe("agent against the upstream Bcfg2 server (TLS, lab repository)", function () {
  let server: Server;
  let work: string;
  let repo: string;
  before(async function () {
    expect(ensureUpstreamInstalled(), "upstream Bcfg2 reference").to.equal(true);
    work = tempDir("vacfg-agent-up-");
    repo = buildAptRepo(work, torquePackages());
    // The lab server creates each client's ssh key pair on first use, but with filemonitor=pseudo
    // it never sees the files it wrote and makes new keys on every GetConfig. One warm-up
    // GetConfig per client and a restart make the keys stable, as on a real server.
    const lab = join(work, "lab-repo");
    cpSync(join(bcfg2RefKit, "repo"), lab, { recursive: true });
    const port = await freePort();
    server = startServer(lab, port);
    await upstreamCall(server.url, "node0", "node0secret", "GetConfig");
    await upstreamCall(server.url, "node1", "labsecret", "GetConfig");
    server.stop();
    server = startServer(lab, port);
  });
  after(async () => {
    server?.stop();
    if (work) removeDir(work);
  });

  const newRoot = (name: string) => sandboxRoot(work, name, repo);
  const agent = (root: string, client: string, password: string, stats: string, extra: string[] = []) =>
    runAgentProcess(["-S", server.url, "-u", client, "-x", password, "--ca", CA, "--root", root, "--stats-file", stats, "-v", ...extra]);

  describe("head node0", () => {
    let root: string;
    before(() => {
      root = newRoot("node0");
    });

    it("first run creates every file, user, key, package and service link, and reports clean", async () => {
      const stats = join(work, "n0-1.xml");
      const r = await agent(root, "node0", "node0secret", stats);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.contain("Statistics accepted by the server");
      const s = readStats(stats);
      expect(names(s.bad), r.stderr).to.deep.equal([]);
      expect(s.state).to.equal("clean");
      expect(s.total).to.equal(26);
      expect(s.modified.length).to.be.greaterThan(20);
      expect(readFileSync(join(root, "etc/motd"), "utf8")).to.contain("Torque HEAD node");
      expect(statSync(join(root, "etc/motd")).mode & 0o7777).to.equal(0o644);
      expect(readFileSync(join(root, "var/spool/torque/server_name"), "utf8")).to.equal("node0\n");
      expect(statSync(join(root, "var/spool/torque/server_priv")).mode & 0o7777).to.equal(0o750);
      expect(statSync(join(root, "var/spool/torque/server_priv/nodes")).mode & 0o7777).to.equal(0o640);
      expect(statSync(join(root, "var/spool/torque/spool")).mode & 0o7777).to.equal(0o1777);
      expect(readFileSync(join(root, "etc/torque/logo.bin")).subarray(0, 4).toString("hex")).to.equal("89504e47");
      expect(statSync(join(root, "etc/torque/empty.conf")).size).to.equal(0);
      expect(readlinkSync(join(root, "etc/cluster"))).to.equal("/etc/torque");
      // ssh: keys and the directory that holds them
      expect(statSync(join(root, "root/.ssh")).mode & 0o7777).to.equal(0o700);
      expect(statSync(join(root, "root/.ssh/id_rsa")).mode & 0o7777).to.equal(0o600);
      expect(readFileSync(join(root, "root/.ssh/id_rsa"), "utf8")).to.contain("PRIVATE KEY");
      expect(statSync(join(root, "root/.ssh/authorized_keys")).mode & 0o7777).to.equal(0o600);
      expect(readFileSync(join(root, "etc/ssh/ssh_known_hosts"), "utf8")).to.contain("node4,node4.cluster.lab ssh-ed25519");
      // users
      expect(readFileSync(join(root, "etc/passwd"), "utf8")).to.contain("hpc:x:2000:2000:HPC user:/home/hpc:/bin/bash\n");
      expect(readFileSync(join(root, "etc/group"), "utf8")).to.match(/^hpcusers:x:2000:$/m).and.match(/^users:x:100:hpc$/m);
      expect(readFileSync(join(root, "etc/shadow"), "utf8")).to.match(/^hpc:!:\d+:0:99999:7:::$/m);
      expect(readFileSync(join(root, "etc/gshadow"), "utf8")).to.match(/^hpcusers:!::$/m);
      // packages through real apt/dpkg, services through systemctl --root
      expect(readFileSync(join(root, "var/lib/dpkg/status"), "utf8")).to.match(/Package: torque-server\nStatus: install ok installed/);
      expect(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/torque-server.service"))).to.match(/^\/lib\/systemd\/system\//);
      expect(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/torque-scheduler.service"))).to.match(/^\/lib\/systemd\/system\//);
    });

    it("a second run changes nothing and reports clean", async () => {
      const before = snapshot(root);
      const stats = join(work, "n0-2.xml");
      const r = await agent(root, "node0", "node0secret", stats);
      expect(r.code, r.stderr).to.equal(0);
      const s = readStats(stats);
      expect(s.state).to.equal("clean");
      expect(s.good).to.equal(26);
      expect(s.modified).to.deep.equal([]);
      const after = snapshot(root);
      const changed = [...after].filter(([p, v]) => before.get(p) !== v).map(([p]) => p);
      expect(changed).to.deep.equal([]);
      expect([...before.keys()].filter((p) => !after.has(p))).to.deep.equal([]);
    });

    it("a tampered file is detected (dry run reports the diff, changes nothing) and then repaired", async () => {
      writeFileSync(join(root, "etc/motd"), "hacked\n");
      chmodSync(join(root, "etc/hosts"), 0o600);
      const dry = join(work, "n0-dry.xml");
      const r1 = await agent(root, "node0", "node0secret", dry, ["-n"]);
      expect(r1.code, r1.stderr).to.equal(0);
      const s1 = readStats(dry);
      expect(s1.flags.dry_run).to.equal("True");
      expect(names(s1.bad)).to.deep.equal(["Path:/etc/hosts", "Path:/etc/motd"]);
      const motd = s1.bad.find((e) => e.attrs.name === "/etc/motd")!;
      const diff = Buffer.from(motd.attrs.current_bdiff!, "base64").toString("utf8");
      expect(diff).to.match(/^--- \/etc\/motd \(on disk\)\n\n\+\+\+ \/etc\/motd \(from bcfg2\)\n\n@@ /);
      expect(diff).to.contain("\n-hacked\n").and.contain("+Welcome to the Torque HEAD node");
      const hosts = s1.bad.find((e) => e.attrs.name === "/etc/hosts")!;
      expect(hosts.attrs.current_mode).to.equal("0600");
      expect(readFileSync(join(root, "etc/motd"), "utf8")).to.equal("hacked\n");
      expect(s1.modified).to.deep.equal([]);

      const fix = join(work, "n0-fix.xml");
      const r2 = await agent(root, "node0", "node0secret", fix, ["-P"]);
      expect(r2.code, r2.stderr).to.equal(0);
      const s2 = readStats(fix);
      expect(s2.state).to.equal("clean");
      expect(names(s2.modified)).to.deep.equal(["Path:/etc/hosts", "Path:/etc/motd"]);
      expect(readFileSync(join(root, "etc/motd"), "utf8")).to.contain("Torque HEAD node");
      expect(statSync(join(root, "etc/hosts")).mode & 0o7777).to.equal(0o644);
      // -P and paranoid="true": the replaced file was kept, under the root
      const backups = readdirSync(join(root, "var/cache/vacfg/paranoid"));
      const motdBackup = backups.find((b) => b.startsWith("_etc_motd_"));
      expect(motdBackup, backups.join(",")).to.match(/^_etc_motd_\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      expect(readFileSync(join(root, "var/cache/vacfg/paranoid", motdBackup!), "utf8")).to.equal("hacked\n");
    });
  });

  it("dry run on a fresh root changes nothing and reports every entry", async () => {
    const root = newRoot("dry");
    const before = snapshot(root);
    const stats = join(work, "dry.xml");
    const r = await agent(root, "node0", "node0secret", stats, ["-n"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain("In dryrun mode: suppressing entry installation for:");
    const s = readStats(stats);
    expect(s.state).to.equal("dirty");
    expect(s.total).to.equal(26);
    expect(s.bad.length).to.equal(26);
    expect(s.bad.find((e) => e.attrs.name === "/etc/passwd")).to.equal(undefined);
    expect(s.bad.find((e) => e.attrs.name === "hpc")!.attrs.current_exists).to.equal("false");
    expect(s.bad.find((e) => e.attrs.name === "torque-server" && e.tag === "Package")!.attrs.current_exists).to.equal("false");
    const after = snapshot(root);
    expect([...after].filter(([p, v]) => before.get(p) !== v)).to.deep.equal([]);
    expect(after.size).to.equal(before.size);
  });

  it("worker node1: blacklisted packages are left alone (-l blacklist); with -p the MOM bundle is installed, its post action runs, then clean", async () => {
    const root = newRoot("node1");
    const black = join(work, "n1-0.xml");
    const r0 = await agent(root, "node1", "labsecret", black, ["-l", "blacklist"]);
    expect(r0.code, r0.stderr).to.equal(0);
    // the lab's blacklist is [Package, *]: no package was installed, everything else was
    expect(names(readStats(black).bad).filter((n) => !n.startsWith("Package:") && n !== "Service:torque-mom" && n !== "Path:/var/spool/torque/spool")).to.deep.equal([]);
    expect(readFileSync(join(root, "var/lib/dpkg/status"), "utf8")).to.equal("");
    const stats = join(work, "n1-1.xml");
    const r = await agent(root, "node1", "labsecret", stats, ["-p", "torque-client"]);
    expect(r.code, r.stderr).to.equal(0);
    const s = readStats(stats);
    expect(names(s.bad), r.stderr).to.deep.equal([]);
    expect(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/torque-mom.service"))).to.match(/^\/lib\/systemd\/system\//);
    expect(existsSync(join(root, "var/spool/torque/server_priv"))).to.equal(false);
    expect(readFileSync(join(root, "etc/motd"), "utf8")).to.not.contain("HEAD");
    // the bundle was modified (packages), so its post action ran, chrooted into the root
    const action = s.modified.find((e) => e.tag === "Action");
    expect(action?.attrs.name).to.equal("reload-mom");
    expect(action?.attrs.rc).to.equal("0");
    const stats2 = join(work, "n1-2.xml");
    const r2 = await agent(root, "node1", "labsecret", stats2);
    expect(r2.code, r2.stderr).to.equal(0);
    expect(readStats(stats2).state).to.equal("clean");
    expect(readStats(stats2).modified).to.deep.equal([]);
  });

  it("reads -C config ([components], [communication]); -c caches the configuration 0600; -f runs from it without a server; -e lists extras", async () => {
    const root = newRoot("cfgfile");
    const conf = join(work, "vacfg.conf");
    writeFileSync(conf, `[components]\nbcfg2 = ${server.url}\n\n[communication]\nuser = node0\npassword = node0secret\nca = ${CA}\nretries = 1\n`);
    const cache = join(work, "cache.xml");
    const r1 = await runAgentProcess(["-C", conf, "--root", root, "-n", "-c", cache]);
    expect(r1.code, r1.stderr).to.equal(0);
    expect(statSync(cache).mode & 0o777).to.equal(0o600);
    expect(readFileSync(cache, "utf8")).to.match(/^<Configuration /);
    const r2 = await runAgentProcess(["-f", cache, "-S", "https://127.0.0.1:1", "--root", root, "-n", "-v", "-e"]);
    expect(r2.code, r2.stderr).to.equal(0);
    expect(r2.stdout).to.contain("Total managed entries: 26").and.contain("POSIXUser:root").and.contain("POSIXGroup:users");
    expect(r2.stderr).to.not.contain("Statistics accepted");
  });

  it("a wrong password is fatal (exit 1) after the configured number of tries", async () => {
    const root = newRoot("badpw");
    const t0 = Date.now();
    const r = await runAgentProcess(["-S", server.url, "-u", "node0", "-x", "wrong", "--ca", CA, "--root", root, "-R", "2", "-y", "0.2"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain("HTTP 401");
    expect(Date.now() - t0).to.be.greaterThan(200);
  });
});
