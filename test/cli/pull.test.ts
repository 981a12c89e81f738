// `vacfg pull` against a running vacfg server's store: the agent's dry run reports files that
// differ on the client; pull writes their current state into the repository (a text file rebuilt
// from the reported diff, a binary file as sent, a group file, info.xml, an SSHbase key), and the
// server serves it at once, so the next dry run is clean. Hostile names and stale diffs write nothing.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StartedServer } from "../../server/start-server.js";
import { startSiteServer } from "../support/site-server.js";
import { projectRoot } from "../support/paths.js";
import { writeRepo } from "../server/core/harness.js";
import { removeDir, runAgentProcess, tempDir } from "../agent/fixtures.js";
import { names, readStats } from "../agent/stats.js";

const vacfg = join(projectRoot, "dist/cli/vacfg.js");

interface Ran {
  status: number;
  stderr: string;
}

function pull(conf: string, args: string[], input?: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [vacfg, "pull", "-c", conf, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    child.stdout.resume();
    child.stdin.end(input ?? "");
    child.on("close", (code) => resolve({ status: code ?? -1, stderr }));
  });
}

const APP_SERVED = "# app\nport = 80\nworkers = 4\nlog = info\n\n# end\n";
const APP_ON_CLIENT = "# app\nport = 8080\nworkers = 4\nlog = info\ncache = on\n\n# end\n";
const BLOB_ON_CLIENT = Buffer.from([0x00, 0xff, 0xfe, 0x10, 0x80, 0x0a]);

describe("vacfg pull on a running server's store", function () {
  this.timeout(180_000);
  let dir: string;
  let repo: string;
  let conf: string;
  let root: string;
  let server: StartedServer;
  const dryRun = async (stats: string) => {
    const r = await runAgentProcess(["-S", server.url, "-u", "web1", "-x", "sitepw", "--ca", join(dir, "tls/ca.crt"), "--root", root, "--stats-file", stats, "-n"]);
    expect(r.code, r.stderr).to.be.oneOf([0, 1]);
    return readStats(stats);
  };
  const repoFiles = () => readdirSync(repo, { recursive: true }).map(String).sort();

  before(async () => {
    dir = tempDir("vacfg-pull-");
    repo = join(dir, "repo");
    writeRepo(repo, {
      "Metadata/groups.xml": '<Groups>\n  <Group name="web" profile="true" public="true" default="true"><Bundle name="app"/></Group>\n</Groups>\n',
      "Metadata/clients.xml": '<Clients>\n  <Client name="web1" profile="web"/>\n  <Client name="web2" profile="web"/>\n</Clients>\n',
      "Bundler/app.xml":
        '<Bundle>\n  <Path name="/etc/app.conf"/>\n  <Path name="/etc/blob"/>\n  <Path name="/etc/motd"/>\n  <Path name="/etc/secret"/>\n  <Path name="/etc/ssh/ssh_host_ed25519_key.pub"/>\n</Bundle>\n',
      "Cfg/etc/app.conf/app.conf": APP_SERVED,
      "Cfg/etc/blob/blob": "plain\n",
      "Cfg/etc/motd/motd": "global motd\n",
      "Cfg/etc/motd/motd.G50_web": "web motd\n",
      "Cfg/etc/secret/secret": "s3cret\n",
      "Cfg/etc/secret/info.xml": '<FileInfo><Info owner="root" group="root" mode="0600" sensitive="true"/></FileInfo>\n',
    });
    ({ conf, server } = await startSiteServer(dir, "sitepw"));
    // The client as the admin changed it by hand: every file differs from what the server sends.
    root = join(dir, "root");
    mkdirSync(join(root, "etc/ssh"), { recursive: true });
    writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    writeFileSync(join(root, "etc/group"), "root:x:0:\n");
    writeFileSync(join(root, "etc/app.conf"), APP_ON_CLIENT);
    chmodSync(join(root, "etc/app.conf"), 0o640);
    writeFileSync(join(root, "etc/blob"), BLOB_ON_CLIENT);
    writeFileSync(join(root, "etc/motd"), "motd edited on web1\n");
    writeFileSync(join(root, "etc/secret"), "other\n");
    writeFileSync(join(root, "etc/ssh/ssh_host_ed25519_key.pub"), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeButWellFormedKeyForThePullTest web1\n");
    const s = await dryRun(join(dir, "stats-1.xml"));
    expect(names(s.bad)).to.include.members(["Path:/etc/app.conf", "Path:/etc/blob", "Path:/etc/motd", "Path:/etc/secret", "Path:/etc/ssh/ssh_host_ed25519_key.pub"]);
  });
  after(async () => {
    await server?.close();
    if (dir) removeDir(dir);
  });

  it("refuses hostile or unknown names and entries that are not bad, writing nothing", async () => {
    const before = repoFiles();
    const cases: Array<[string[], RegExp]> = [
      [["../x", "Path", "/etc/motd"], /client name "\.\.\/x"/],
      [["web1", "Path", "/etc/../etc/motd"], /not a normalized absolute path/],
      [["web1", "Package", "openssh-server"], /only Path entries can be pulled/],
      [["web2", "Path", "/etc/motd"], /web2 has sent no statistics/],
      [["web1", "Path", "/etc/nothing"], /has no bad Path \/etc\/nothing/],
      [["web1", "Path", "/etc/secret"], /sensitive/],
    ];
    for (const [args, why] of cases) {
      const r = await pull(conf, args);
      expect(r.status, args.join(" ")).to.equal(1);
      expect(r.stderr, args.join(" ")).to.match(why);
    }
    expect(repoFiles()).to.deep.equal(before);
  });

  it("-I asks for each place, best first; declining all writes nothing", async () => {
    const r = await pull(conf, ["-I", "web1", "Path", "/etc/motd"], "n\nn\n");
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.include("(current entry) \n => group entry: web (prio 50)").and.include(" => host entry: web1").and.include("no place accepted");
    expect(readFileSync(join(repo, "Cfg/etc/motd/motd.G50_web"), "utf8")).to.equal("web motd\n");
  });

  it("writes the client's files where the client gets them from, and the next dry run is clean", async () => {
    const lines = ["web1 Path /etc/app.conf", "web1 Path /etc/blob", "web1 Path /etc/motd", "web1 Path /etc/ssh/ssh_host_ed25519_key.pub", "bogus line"].join("\n");
    const r = await pull(conf, ["--stdin"], lines + "\n");
    expect(r.status, r.stderr).to.equal(1); // the bogus line
    expect(r.stderr).to.include("Bad entry: bogus line");
    // a text file rebuilt from its diff; its mode into info.xml (upstream's form)
    expect(readFileSync(join(repo, "Cfg/etc/app.conf/app.conf"), "utf8")).to.equal(APP_ON_CLIENT);
    expect(readFileSync(join(repo, "Cfg/etc/app.conf/info.xml"), "utf8")).to.equal(
      '<FileInfo>\n  <Info owner="root" group="root" mode="0640" secontext="__default__" important="false" paranoid="true" sensitive="false"/>\n</FileInfo>\n',
    );
    // a binary file byte for byte; the group file the client gets (the global one untouched)
    expect(readFileSync(join(repo, "Cfg/etc/blob/blob")).equals(BLOB_ON_CLIENT)).to.equal(true);
    expect(readFileSync(join(repo, "Cfg/etc/motd/motd.G50_web"), "utf8")).to.equal("motd edited on web1\n");
    expect(readFileSync(join(repo, "Cfg/etc/motd/motd"), "utf8")).to.equal("global motd\n");
    expect(existsSync(join(repo, "Cfg/etc/blob/info.xml")), "unchanged permissions write no info.xml").to.equal(false);
    // SSHbase: the client's own key file
    const key = join(repo, "SSHbase/ssh_host_ed25519_key.pub.H_web1");
    expect(readFileSync(key, "utf8")).to.include("FakeButWellFormedKeyForThePullTest");
    expect(statSync(key).mode & 0o777).to.equal(0o644);
    const s = await dryRun(join(dir, "stats-2.xml"));
    expect(names(s.bad)).to.deep.equal(["Path:/etc/secret"]);
  });

  it("refuses a diff that no longer applies to what the server sends (the repository changed since the run)", async () => {
    writeFileSync(join(root, "etc/app.conf"), APP_SERVED.replace("80", "81"));
    chmodSync(join(root, "etc/app.conf"), 0o640);
    await dryRun(join(dir, "stats-3.xml"));
    writeFileSync(join(repo, "Cfg/etc/app.conf/app.conf"), "# rewritten meanwhile\n");
    const r = await pull(conf, ["web1", "Path", "/etc/app.conf"]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/diff of \/etc\/app.conf .* does not apply to what the server sends it now/);
    expect(readFileSync(join(repo, "Cfg/etc/app.conf/app.conf"), "utf8")).to.equal("# rewritten meanwhile\n");
    rmSync(join(repo, "Cfg/etc/app.conf/app.conf"));
  });
});
