// An admin's first hour, end to end: the example repository broken one realistic way at a time
// (a malformed bundle, a bundle groups.xml names with no file, an entry no generator binds, a
// client listed twice in clients.xml). Each breakage reaches the agent (-v says why, the run is not
// clean, --exit-dirty exits 3), `vacfg info`, the reports and lint, each naming file and line.
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspectClient } from "../../server/admin/inspect.js";
import { lintRepository } from "../../server/lint/index.js";
import { renderTextReport } from "../../server/reporting/text-report.js";
import { startTestSite, type TestSite } from "../server/http/site.js";
import { addShell, makeBaseRoot, removeDir, runAgentProcess, tempDir } from "./fixtures.js";
import { names, readStats } from "./stats.js";

const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

describe("a broken repository is visible everywhere (agent, info, reports, lint)", function () {
  let site: TestSite;
  let work: string;
  let repo: string;
  before(async () => {
    site = await startTestSite();
    work = tempDir("vacfg-broken-");
    repo = join(site.dir, "repo");
  });
  after(async () => {
    await site?.cleanup();
    if (work) removeDir(work);
  });
  const run = (name: string, extra: string[] = []) => {
    const root = join(work, `root-${name}`);
    // a Debian-style root with a shell: the repository's probe runs chrooted into it
    makeBaseRoot(root);
    addShell(root);
    const stats = join(work, `${name}.xml`);
    return runAgentProcess(["-S", site.server.url, "-u", "node1", "-x", "labsecret", "--ca", join(site.tlsDir, "ca.crt"), "--root", root, "-n", "-v", "--stats-file", stats, ...extra]).then((r) => ({ ...r, stats: readStats(stats) }));
  };

  it("a malformed bundle, a bundle with no file, an unbindable entry: failure entries the agent reports and counts", async () => {
    writeFileSync(join(repo, "Bundler/torque-mom.xml"), '<Bundle>\n  <Package name="torque-mom"/>\n  <Path name="/var/spool/torque/mom_priv">\n</Bundle>\n');
    const groups = readFileSync(join(repo, "Metadata/groups.xml"), "utf8").replace('<Bundle name="torque-mom"/>', '<Bundle name="torque-mom"/>\n    <Bundle name="monitoring"/>');
    writeFileSync(join(repo, "Metadata/groups.xml"), groups);
    const base = readFileSync(join(repo, "Bundler/base.xml"), "utf8").replace("</Bundle>", '  <Path name="/etc/nosuch.conf"/>\n</Bundle>');
    writeFileSync(join(repo, "Bundler/base.xml"), base);
    const groupsLine = lineOf(groups, "monitoring");
    const baseLine = lineOf(base, "nosuch");

    const r = await run("three", ["--exit-dirty"]);
    expect(r.code, r.stderr).to.equal(3);
    expect(r.stats.state).to.equal("dirty");
    expect(names(r.stats.bad)).to.include.members(["Action:bundle:torque-mom", "Action:bundle:monitoring", "Path:/etc/nosuch.conf"]);
    expect(r.stderr).to.match(/Action:bundle:torque-mom: the server could not bind it: bundle "torque-mom" could not be built: Bundler\/torque-mom\.xml:4: /);
    expect(r.stderr).to.contain(`Action:bundle:monitoring: the server could not bind it: bundle "monitoring" (named at Metadata/groups.xml:${groupsLine}) has no file Bundler/monitoring.xml`);
    expect(r.stderr).to.contain("Path:/etc/nosuch.conf: the server could not bind it: no matching generator");

    // the reports: the run is dirty and each failure is listed with its reason
    const report = await renderTextReport(site.server.core.store, { view: "client", client: "node1" });
    expect(report).to.match(/^node1: bad,/);
    expect(report).to.match(/Action bundle:torque-mom {2}\(failure=bundle "torque-mom" could not be built: Bundler\/torque-mom\.xml:4: /);
    expect(report).to.contain(`Action bundle:monitoring  (failure=bundle "monitoring" (named at Metadata/groups.xml:${groupsLine}) has no file Bundler/monitoring.xml)`);

    // vacfg info's bundle view
    const info = await inspectClient(site.server.core, "node1", { view: "bundles" });
    expect(info.text).to.match(/^torque-mom: NOT BUILT: bundle "torque-mom" could not be built: Bundler\/torque-mom\.xml:4: /m);
    expect(info.text).to.contain(`monitoring: NOT BUILT: bundle "monitoring" (named at Metadata/groups.xml:${groupsLine})`);
    expect(info.failures).to.include("Path /etc/nosuch.conf: no matching generator");

    // lint, before any server sees it
    const lint = (await lintRepository(repo)).map((p) => `${p.file}:${p.line} ${p.code}`);
    expect(lint).to.include.members([
      "Bundler/torque-mom.xml:4 xml-failed-to-parse",
      `Metadata/groups.xml:${groupsLine} bundle-not-found`,
      `Bundler/base.xml:${baseLine} no-matching-generator`,
    ]);
  });

  it("a client listed twice: refused naming both lines, the last good clients.xml served, every run told", async () => {
    const clients = readFileSync(join(repo, "Metadata/clients.xml"), "utf8");
    const first = lineOf(clients, '"node1"');
    const dup = clients.replace("</Clients>", '  <Client name="node1" profile="torque-head"/>\n</Clients>');
    writeFileSync(join(repo, "Metadata/clients.xml"), dup);
    const second = lineOf(dup, '<Client name="node1" profile="torque-head"/>');
    const why = `Metadata/clients.xml:${second}: client "node1" is listed twice in clients.xml (first at Metadata/clients.xml:${first}); the server keeps serving the last good clients.xml`;

    const r = await run("dup");
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stats.state).to.equal("dirty");
    expect(r.stderr).to.contain(`Action:Metadata/clients.xml: the server could not bind it: ${why}`);
    // not merged: still a worker (no head-only torque-server bundle)
    expect(names([...r.stats.bad, ...r.stats.goodEntries])).to.not.include("Package:torque-server");
    expect(await renderTextReport(site.server.core.store, { view: "client", client: "node1" })).to.contain(`Action Metadata/clients.xml  (failure=${why})`);
    const info = await inspectClient(site.server.core, "node1", { view: "bundles" });
    expect(info.text).to.contain(`Metadata: 1 entry, 1 failed to bind`);
    expect(info.failures).to.include(`Action Metadata/clients.xml: ${why}`);
    const lint = (await lintRepository(repo)).filter((p) => p.code === "duplicate-client");
    expect(lint.map((p) => `${p.file}:${p.line}: ${p.message}`)).to.deep.equal([`Metadata/clients.xml:${second}: client "node1" is listed twice (first at line ${first})`]);
  });
});
