// An agent that explains: -v says why each bad entry is bad, -d shows the diff, --exit-dirty
// tells "ran but not clean" apart, and a first run into an empty root creates what users need.
import { expect } from "chai";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeDir, runAgentProcess, tempDir } from "./fixtures.js";
import { names, readStats } from "./stats.js";

const CONFIG = `<Configuration version="2.0" revision="-1">
<Bundle name="base">
<POSIXGroup name="cluster" gid="2000"/>
<POSIXUser name="alice" uid="2001" group="cluster" gecos="Alice" home="/home/alice" shell="/bin/sh"/>
<Path name="/etc/motd" type="file" owner="root" group="root" mode="0600">wanted line
</Path>
<Path name="/srv/data/notes" type="file" owner="root" group="root" mode="0644">notes
</Path>
</Bundle>
</Configuration>`;

const PACKAGE = CONFIG.replace("</Bundle>", '<Package name="vacfg-nosuch" type="deb" version="auto"/>\n</Bundle>');

describe("agent: explaining what is wrong", function () {
  let dir: string;
  before(() => {
    dir = tempDir("vacfg-explain-");
    writeFileSync(join(dir, "config.xml"), CONFIG);
    writeFileSync(join(dir, "package.xml"), PACKAGE);
  });
  after(() => removeDir(dir));

  it("a first run into an empty root creates /etc and the parents files need; users, groups and files are applied; clean", async () => {
    const root = join(dir, "empty");
    mkdirSync(root);
    const stats = join(dir, "first.xml");
    const r = await runAgentProcess(["-f", join(dir, "config.xml"), "--root", root, "--stats-file", stats]);
    expect(r.code, r.stderr).to.equal(0);
    expect(names(readStats(stats).bad), r.stderr).to.deep.equal([]);
    expect(readStats(stats).state).to.equal("clean");
    expect(statSync(join(root, "etc")).mode & 0o7777).to.equal(0o755);
    expect(readFileSync(join(root, "etc/passwd"), "utf8")).to.match(/^alice:x:2001:2000:Alice:\/home\/alice:\/bin\/sh$/m);
    expect(readFileSync(join(root, "etc/group"), "utf8")).to.match(/^cluster:x:2000:/m);
    expect(readFileSync(join(root, "srv/data/notes"), "utf8")).to.equal("notes\n");
  });

  it("-v says why each bad entry is bad (mode, content, package); -d adds the diff; without -v neither", async () => {
    const root = join(dir, "tampered");
    mkdirSync(root);
    expect((await runAgentProcess(["-f", join(dir, "config.xml"), "--root", root])).code).to.equal(0);
    writeFileSync(join(root, "etc/motd"), "someone else's line\n");
    chmodSync(join(root, "etc/motd"), 0o644);
    const verbose = await runAgentProcess(["-f", join(dir, "package.xml"), "--root", root, "-n", "-v"]);
    expect(verbose.code, verbose.stderr).to.equal(0);
    expect(verbose.stderr).to.contain("Path:file:/etc/motd: mode 0644, should be 0600; content differs\n");
    expect(verbose.stderr).to.contain("Package:deb:vacfg-nosuch: package not installed\n");
    expect(verbose.stderr).to.not.contain("+wanted line");
    const debug = await runAgentProcess(["-f", join(dir, "package.xml"), "--root", root, "-n", "-d"]);
    expect(debug.stderr).to.contain("Path:file:/etc/motd: mode 0644, should be 0600; content differs\n");
    expect(debug.stderr).to.match(/Path:file:\/etc\/motd diff \(current → wanted\):\n[\s\S]*-someone else's line\n\+wanted line\n/);
    const quiet = await runAgentProcess(["-f", join(dir, "package.xml"), "--root", root, "-n"]);
    expect(quiet.stderr).to.not.contain("should be 0600");
  });

  it("--exit-dirty: 3 when the run is not clean (a dry run with changes pending, a package that cannot be installed); 0 when clean; off by default", async () => {
    const root = join(dir, "dirty");
    mkdirSync(root);
    const cfg = join(dir, "config.xml");
    expect((await runAgentProcess(["-f", cfg, "--root", root, "-n"])).code, "off by default").to.equal(0);
    expect((await runAgentProcess(["-f", cfg, "--root", root, "-n", "--exit-dirty"])).code, "dry run, changes pending").to.equal(3);
    expect((await runAgentProcess(["-f", cfg, "--root", root, "--exit-dirty"])).code, "applied: clean").to.equal(0);
    expect(existsSync(join(root, "etc/motd"))).to.equal(true);
    const conf = join(dir, "vacfg.conf");
    writeFileSync(conf, "[client]\nexit_dirty = true\n");
    const r = await runAgentProcess(["-C", conf, "-f", join(dir, "package.xml"), "--root", root]);
    expect(r.code, "[client] exit_dirty, a package apt cannot install").to.equal(3);
  });
});
