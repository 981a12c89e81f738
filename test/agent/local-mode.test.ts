// `vacfg agent --local REPO`: the agent renders the repository with the server's core in process
// (no server, no network) into a sandbox root, on a private copy: the repository given stays
// byte-identical. The stand-alone agent carries no server core and refuses --local, saying so.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { addShell, makeBaseRoot } from "../../agent/image-root.js";
import { exampleRepo, projectRoot } from "../support/paths.js";

function treeDigest(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      h.update(relative(dir, p));
      if (statSync(p).isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest("hex");
}

describe("agent: local mode (--local REPO)", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "vacfg-local-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("applies a profile of the example repository into a root without a server; the repository is not written", function () {
    if (process.getuid?.() !== 0) throw new Error("needs root: the repository's probe runs chrooted in the root (CI runs as root)");
    const repo = join(dir, "repo");
    cpSync(exampleRepo, repo, { recursive: true });
    const before = treeDigest(repo);
    const root = join(dir, "root");
    makeBaseRoot(root);
    addShell(root);
    const stats = join(dir, "stats.xml");
    // -b base: the files of the base bundle (packages and services need a real Debian root)
    const r = spawnSync(process.execPath, [resolve(projectRoot, "dist/cli/vacfg.js"), "agent", "--local", repo, "-u", "node1", "-p", "torque-worker", "--root", root, "-b", "base", "-C", "/dev/null", "--stats-file", stats], { encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(readFileSync(join(root, "etc/motd"), "utf8")).to.equal(readFileSync(join(exampleRepo, "Cfg/etc/motd/motd.H_node1"), "utf8"));
    expect(readFileSync(join(root, "etc/resolv.conf"), "utf8")).to.contain("nameserver 127.0.0.1");
    expect(readFileSync(stats, "utf8")).to.contain('name="/etc/hosts"');
    // no registration in clients.xml, no SSHbase key written into the repository given
    expect(treeDigest(repo)).to.equal(before);
  });

  it("the stand-alone agent refuses --local, naming why", () => {
    const r = spawnSync(process.execPath, [resolve(projectRoot, "dist/agent/main.js"), "--local", exampleRepo, "-C", "/dev/null"], { encoding: "utf8" });
    expect(r.status).to.equal(1);
    expect(r.stdout + r.stderr).to.contain("--local needs the vacfg command");
  });

  it("refuses --local with -f (two sources for the configuration)", () => {
    const r = spawnSync(process.execPath, [resolve(projectRoot, "dist/cli/vacfg.js"), "agent", "--local", exampleRepo, "-f", "/dev/null", "-C", "/dev/null"], { encoding: "utf8" });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain("--local and -f both say where the configuration comes from");
  });
});
