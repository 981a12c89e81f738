// GetConfig: bundles with conditionals, Rules priorities and regexes, Defaults, Bound entries,
// failure attributes, sort order, live repository edits; plus Decisions and RecvStats.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { parseXml } from "../../../protocol/xml.js";
import { serializeStatistics } from "../../../protocol/documents/statistics.js";
import type { AnyPlugin } from "../../../server/core/roles.js";
import { harness, type Harness } from "./harness.js";
import { REPO, BASE_BUNDLE, GLOB_REPO } from "./fixture-repo.js";

// What the real upstream server sends for these clients on REPO (captured with xmlrpc-call.py).
const WEB1 =
  '<Configuration version="2.0" revision="-1"><Bundle name="base"><Path name="/etc/bound" type="file" owner="root" group="root" mode="0600">hello</Path><Path name="/etc/unbound-thing" failure="no matching generator"/><Action name="aaa-first" timing="post" when="modified" status="check" command="/bin/true"/><Package name="conflicted" failure="bind error: Found conflicting sources with same priority (5) for Package:conflicted for web1"/><Package name="openssh-server" type="deb" version="auto"/><Service name="ssh" status="on" type="systemd" restart="true"/><Package name="yum" type="rpm" version="any"/></Bundle><Bundle name="linux"><Path name="/etc/os-marker" type="symlink" to="/etc/os-release"/></Bundle><Bundle name="web"><Package name="libfoo" failure="no matching generator"/><Package name="nginx" type="deb" version="1.2"/><Service name="nginx" status="on" restart="interactive" type="systemd"/></Bundle></Configuration>';
const DB1 =
  '<Configuration version="2.0" revision="-1"><Bundle name="base"><Path name="/etc/bound" type="file" owner="root" group="root" mode="0600">hello</Path><Path name="/etc/unbound-thing" failure="no matching generator"/><Path name="/srv/data/" type="directory" owner="root" group="root" mode="0755"/><Action name="aaa-first" timing="post" when="modified" status="check" command="/bin/true"/><Package name="apt" type="deb" version="auto"/><Package name="conflicted" failure="bind error: Found conflicting sources with same priority (5) for Package:conflicted for db1"/><Package name="openssh-server" type="deb" version="auto"/><Service name="ssh" status="off" type="systemd" restart="true"/></Bundle><Bundle name="linux"><Path name="/etc/os-marker" type="symlink" to="/etc/os-release"/></Bundle></Configuration>';

describe("server core: GetConfig", function () {
  let h: Harness;
  afterEach(async () => {
    await h?.cleanup();
  });

  it("builds upstream's exact document: conditionals, Bound entries, Rules priorities, Defaults, failures, sort order", async () => {
    h = await harness(REPO);
    expect(await h.core.getConfig("web1")).to.equal(WEB1);
    expect(await h.core.getConfig("db1")).to.equal(DB1);
  });

  it("expands a bundle's <Path glob> to every generator's Path name it matches, also inside a Group", async () => {
    h = await harness(GLOB_REPO);
    const expected =
      '<Configuration version="2.0" revision="-1"><Bundle name="globbed"><Path name="/etc/app/a" type="directory" owner="root" group="root" mode="0755"/><Path name="/etc/app/b" type="symlink" to="/etc/app/a"/><Path name="/srv/x.conf" type="directory" owner="root" group="root" mode="0750"/><Package name="glob-pkg" type="deb" version="any"/></Bundle><Bundle name="plain"><Path name="/etc/other" type="directory" owner="root" group="root" mode="0700"/></Bundle></Configuration>';
    expect(await h.core.getConfig("g1")).to.equal(expected);
    expect(await h.core.getConfig("g1")).to.equal(expected);
  });

  it("probe groups bring in conditional entries (group:big → bighost → bigpkg)", async () => {
    h = await harness(REPO);
    await h.core.recvProbeData("web1", '<ProbeData><probe-data name="hw" source="Probes">{"cpus": 4}\ngroup:big\n</probe-data></ProbeData>');
    const doc = parseXml(await h.core.getConfig("web1"));
    const web = doc.children.find((b) => b.attrs.name === "web")!;
    expect(web.children.map((e) => e.attrs.name)).to.deep.equal(["bigpkg", "libfoo", "nginx", "nginx"]);
    expect(web.children[0].attrs).to.deep.equal({ name: "bigpkg", type: "deb", version: "any" });
  });

  it("Rules names are regexes when [rules] regex is on", async () => {
    h = await harness(REPO, { rulesRegex: true });
    const doc = parseXml(await h.core.getConfig("web1"));
    const lib = doc.children.find((b) => b.attrs.name === "web")!.children.find((e) => e.attrs.name === "libfoo")!;
    expect(lib.attrs).to.deep.equal({ name: "libfoo", type: "deb", version: "any" });
  });

  it("edits to a bundle take effect on the next GetConfig without a restart", async () => {
    h = await harness(REPO);
    expect(await h.core.getConfig("web1")).to.equal(WEB1);
    writeFileSync(join(h.repo, "Bundler/base.xml"), BASE_BUNDLE.replace('<Service name="ssh"/>', '<Service name="ssh"/>\n  <Package name="apt"/>'));
    const base = parseXml(await h.core.getConfig("web1")).children[0];
    expect(base.children.some((e) => e.tag === "Package" && e.attrs.name === "apt" && e.attrs.version === "auto")).to.equal(true);
  });

  it("RequiredBundle inherit_modification: a <Bundle> child only for 1.4.0pre2+ clients, bound like any entry (as upstream)", async () => {
    h = await harness({ ...REPO, "Bundler/web.xml": '<Bundle><RequiredBundle name="linux" inherit_modification="true"/></Bundle>' });
    expect(await h.core.getConfig("web1")).to.include('<Bundle name="web"/>');
    await h.core.declareVersion("web1", "1.4.0pre2");
    expect(await h.core.getConfig("web1")).to.include('<Bundle name="web"><Bundle name="linux" failure="no matching generator"/></Bundle>');
  });

  it("a structure plugin that throws gives <error type=\"structure error\"/>; a throwing generator gives failure=\"bind error: …\"", async () => {
    const broken: AnyPlugin = {
      name: "Broken",
      buildStructures: async (meta) => {
        if (meta.hostname === "db1") throw new Error("boom");
        return [];
      },
      entryNames: (tag) => new Set(tag === "Package" ? ["nginx"] : tag === "Path" ? ["/etc/unbound-thing"] : []),
      bindEntry: async () => {
        throw new Error("template exploded");
      },
    };
    h = await harness(REPO, {}, [broken]);
    expect(await h.core.getConfig("db1")).to.equal('<error type="structure error"/>');
    const doc = await h.core.getConfig("web1");
    // Two exact-name generators (Rules and Broken) for Package:nginx: a bind failure naming both.
    expect(doc).to.include(`<Package name="nginx" failure="bind error: multiple generators serve Package:nginx (Rules, Broken)"/>`);
    expect(doc).to.include('<Path name="/etc/unbound-thing" failure="bind error: template exploded"/>');
  });

  it("independent=\"true\" bundles become <Independent name=..>; equal names keep their order (stable sort)", async () => {
    h = await harness({ ...REPO, "Bundler/web.xml": '<Bundle independent="true"><Service name="nginx"/><Package name="nginx"/></Bundle>' });
    const doc = parseXml(await h.core.getConfig("web1"));
    const ind = doc.children.find((b) => b.tag === "Independent")!;
    expect(ind.attrs).to.deep.equal({ name: "web" });
    expect(ind.children.map((e) => e.tag)).to.deep.equal(["Service", "Package"]);
  });

  it("GetDecisionList resolves Group conditionals; an unknown mode gives []", async () => {
    h = await harness(REPO);
    expect(await h.core.getDecisionList("web1", "whitelist")).to.deep.equal([["Service", "*"]]);
    expect(await h.core.getDecisionList("db1", "whitelist")).to.deep.equal([["Service", "*"], ["Package", "apt"]]);
    expect(await h.core.getDecisionList("db1", "blacklist")).to.deep.equal([]);
    expect(await h.core.getDecisionList("db1", "bogus")).to.deep.equal([]);
  });

  it("RecvStats stores the run durably with decoded diffs before answering", async () => {
    h = await harness(REPO);
    const bad = parseXml(`<Path name="/etc/motd" type="file" qtext="" current_owner="0" current_bdiff="${Buffer.from("-a\n+b\n").toString("base64")}"/>`);
    const doc = serializeStatistics({
      total: 2,
      good: 1,
      state: "dirty",
      version: "2.0",
      revision: "-1",
      flags: { dry_run: "True", only_important: "False" },
      modified: [],
      extra: [parseXml('<Package name="vim" type="deb" current_version="9" qtext=""/>')],
      goodEntries: [parseXml('<Service name="ssh" type="systemd" qtext=""/>')],
      bad: [bad],
      opStamps: { start: "1700000000.5", finished: "1700000003.25" },
    });
    expect(await h.core.recvStats("web1", doc)).to.equal(true);
    const runs = await h.store.listRuns({ client: "web1" });
    expect(runs).to.have.length(1);
    expect(runs[0]).to.include({ state: "dirty", total: 2, good: 1, bad: 1, extra: 1, modified: 0, dryRun: true });
    expect(runs[0].timings.finished).to.equal(1700000003.25);
    const entries = await h.store.getRunEntries(runs[0].id);
    const b = entries.find((e) => e.kind === "bad")!;
    expect(b.diff).to.equal("-a\n+b\n");
    expect(b.attrs).to.deep.equal({ name: "/etc/motd", type: "file", current_owner: "0" });
    const err = await h.core.recvStats("web1", "<upload-statistics><oops").catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
  });

  it("admin methods: timings for get_statistics, plugin RMI, methodHelp", async () => {
    h = await harness(REPO);
    await h.core.getConfig("web1");
    const admin = h.core.adminMethods();
    const stats = (await admin.get_statistics.call()) as Record<string, unknown[]>;
    expect(stats["Core:GetConfig"]).to.have.length(4);
    expect(stats["Core:GetConfig"][3]).to.equal(1);
    expect(await admin["Metadata.list_clients"].call()).to.include("db1");
    expect(await admin.toggle_debug.call()).to.equal(true);
    expect(await admin["Rules.set_debug"].call("true")).to.equal(true);
    expect(h.core.methodHelp("GetConfig")).to.include("BuildConfiguration");
  });
});
