// `vacfg compare`: a client's configuration before and after a repository change, and two saved
// configurations, entry by entry (added/removed bundles and entries, attributes, content).
import { expect } from "chai";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { initSite } from "../../server/admin/init.js";
import { projectRoot } from "../support/paths.js";
import { writeRepo } from "../server/core/harness.js";

const run = promisify(execFile);
const vacfg = join(projectRoot, "dist/cli/vacfg.js");

describe("vacfg compare", function () {
  this.timeout(120_000);
  let dir: string;
  let conf: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-compare-"));
    writeRepo(join(dir, "repo"), {
      "Metadata/groups.xml": '<Groups>\n  <Group name="web" profile="true" default="true"><Bundle name="app"/><Bundle name="old"/></Group>\n</Groups>\n',
      "Metadata/clients.xml": '<Clients>\n  <Client name="web1" profile="web"/>\n  <Client name="web2" profile="web"/>\n</Clients>\n',
      "Bundler/app.xml": '<Bundle>\n  <Path name="/etc/app.conf"/>\n  <Path name="/etc/motd"/>\n</Bundle>\n',
      "Bundler/old.xml": '<Bundle>\n  <Path name="/etc/legacy"/>\n</Bundle>\n',
      "Cfg/etc/app.conf/app.conf": "port = 80\nworkers = 4\n",
      "Cfg/etc/motd/motd": "hello\n",
      "Cfg/etc/legacy/legacy": "x\n",
    });
    conf = initSite(dir, { hostname: "localhost" }).configPath;
    cpSync(join(dir, "repo"), join(dir, "repo-before"), { recursive: true });
    // The change: a content edit, a mode, a new entry, a bundle dropped.
    writeRepo(join(dir, "repo"), {
      "Cfg/etc/app.conf/app.conf": "port = 8080\nworkers = 4\n",
      "Cfg/etc/motd/info.xml": '<FileInfo><Info owner="root" group="root" mode="0600"/></FileInfo>\n',
      "Bundler/app.xml": '<Bundle>\n  <Path name="/etc/app.conf"/>\n  <Path name="/etc/motd"/>\n  <Path name="/etc/new"/>\n</Bundle>\n',
      "Cfg/etc/new/new": "n\n",
      "Metadata/groups.xml": '<Groups>\n  <Group name="web" profile="true" default="true"><Bundle name="app"/></Group>\n</Groups>\n',
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("lists each client's changes after a repository change, entry by entry", async () => {
    const { stdout } = await run(process.execPath, [vacfg, "compare", "-c", conf, "--client", "web1", "web2", "--old-repo", join(dir, "repo-before")], { encoding: "utf8" });
    expect(stdout).to.include("===== web1, web2 =====\nRemoved: Bundle old");
    expect(stdout).to.include("Removed: Element Path:/etc/legacy");
    expect(stdout).to.include("Added: Element Path:/etc/new");
    expect(stdout).to.include('Changed: Element Path:/etc/motd has different attributes\n  -mode="644"\n  +mode="0600"');
    expect(stdout).to.include("Changed: Element Path:/etc/app.conf has different content\n  -port = 80\n  +port = 8080\n");
    expect(stdout).to.not.include("workers");
  });

  it("compares two saved configurations; -q only names what differs", async () => {
    const a = '<Configuration><Bundle name="b"><Path name="/x" mode="644">one\n</Path></Bundle></Configuration>';
    const b = '<Configuration><Bundle name="c"><Path name="/x" mode="644">two\n</Path></Bundle></Configuration>';
    writeFileSync(join(dir, "a.xml"), a);
    writeFileSync(join(dir, "b.xml"), b);
    const { stdout } = await run(process.execPath, [vacfg, "compare", "-q", join(dir, "a.xml"), join(dir, "b.xml")], { encoding: "utf8" });
    expect(stdout).to.equal("Removed: Bundle b\nAdded: Bundle c\nChanged: Element Path:/x was in bundle b, now in bundle c\nChanged: Element Path:/x has different content\n");
    const help = await run(process.execPath, [vacfg, "compare", "--help"], { encoding: "utf8" });
    expect(help.stdout).to.include("bcfg2-admin compare").and.include("--old-repo");
  });
});
