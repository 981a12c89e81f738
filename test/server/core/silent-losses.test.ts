// Nothing the server cannot build goes missing without a word: a malformed bundle, a bundle with
// no file, a clients.xml edit that lists a client twice, a repository that is not there.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { pino } from "pino";
import { parseXml, type XmlElement } from "../../../protocol/xml.js";
import { openCore } from "../../../server/admin/open-core.js";
import { harness, type Harness } from "./harness.js";
import { CLIENTS_XML, GROUPS_XML, REPO } from "./fixture-repo.js";

const bundle = (doc: string, name: string): XmlElement | undefined => parseXml(doc).children.find((b) => b.attrs.name === name);

describe("server core: a configuration the server could not build completely says so", function () {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
  });

  it("a malformed bundle file is sent as a failure entry naming file:line, not dropped", async () => {
    h = await harness({ ...REPO, "Bundler/web.xml": "<Bundle>\n  <Package name=\"nginx\">\n</Bundle>\n" });
    const web = bundle(await h.core.getConfig("web1"), "web");
    expect(web, "the bundle is still in the configuration").to.not.equal(undefined);
    expect(web!.children).to.have.length(1);
    const [entry] = web!.children;
    expect(entry.tag).to.equal("Action");
    expect(entry.attrs.name).to.equal("bundle:web");
    expect(entry.attrs.failure).to.match(/^bundle "web" could not be built: Bundler\/web\.xml:3: /);
    expect(entry.attrs.command, "nothing a client could run").to.equal(undefined);
  });

  it("a bundle named in groups.xml with no file is a failure entry naming groups.xml:line", async () => {
    const groups = GROUPS_XML.replace('<Bundle name="web"/>', '<Bundle name="web"/>\n    <Bundle name="nosuch"/>');
    h = await harness({ ...REPO, "Metadata/groups.xml": groups });
    const line = groups.split("\n").findIndex((l) => l.includes("nosuch")) + 1;
    const b = bundle(await h.core.getConfig("web1"), "nosuch");
    expect(b?.children[0]?.attrs).to.deep.equal({
      name: "bundle:nosuch",
      timing: "post",
      when: "modified",
      status: "check",
      failure: `bundle "nosuch" (named at Metadata/groups.xml:${line}) has no file Bundler/nosuch.xml`,
    });
    // the good bundles are still there, bound as before
    expect(bundle(await h.core.getConfig("web1"), "web")?.children.map((e) => e.attrs.name)).to.include("nginx");
  });
});

describe("server core: clients.xml listing a client twice", function () {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
  });

  it("an edit that lists a client twice is refused naming both lines; the last good clients.xml is served, and every client is told", async () => {
    h = await harness(REPO);
    const before = await h.core.getConfig("web1");
    expect(bundle(before, "Metadata")).to.equal(undefined);
    const dup = CLIENTS_XML.replace("</Clients>", '  <Client name="web1" profile="db"/>\n</Clients>');
    writeFileSync(join(h.repo, "Metadata/clients.xml"), dup);
    const after = await h.core.getConfig("web1");
    // not merged: web1 keeps the web profile's bundles and gets none of db's
    expect(bundle(after, "web")?.children.map((e) => e.attrs.name)).to.include("nginx");
    expect((await h.core.buildMetadata("web1")).profile).to.equal("web");
    const refusal = bundle(after, "Metadata")?.children[0];
    expect(refusal?.attrs.name).to.equal("Metadata/clients.xml");
    const line = dup.split("\n").length - 2;
    expect(refusal?.attrs.failure).to.equal(
      `Metadata/clients.xml:${line}: client "web1" is listed twice in clients.xml (first at Metadata/clients.xml:4); the server keeps serving the last good clients.xml`,
    );
    expect(bundle(await h.core.getConfig("db1"), "Metadata")?.children[0]?.attrs.failure).to.equal(refusal?.attrs.failure);
    // fixed: the refusal is gone
    writeFileSync(join(h.repo, "Metadata/clients.xml"), CLIENTS_XML.replace('profile="web" password="web1pw"', 'profile="db" password="web1pw"'));
    const fixed = await h.core.getConfig("web1");
    expect(bundle(fixed, "Metadata")).to.equal(undefined);
    expect((await h.core.buildMetadata("web1")).profile).to.equal("db");
  });

  it("at start-up (no good clients.xml yet) the core refuses to start, naming both lines", async () => {
    const dup = CLIENTS_XML.replace("</Clients>", '  <Client name="WEB1" profile="db"/>\n</Clients>');
    try {
      h = await harness({ ...REPO, "Metadata/clients.xml": dup });
      expect.fail("the core started");
    } catch (e) {
      expect((e as Error).message).to.match(/: Metadata\/clients\.xml:13: client "WEB1" is listed twice in clients\.xml \(first at Metadata\/clients\.xml:4\)$/);
    }
  });
});

describe("openCore refuses a repository that is not there", function () {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-norepo-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const settings = (repo: string) => ({ repo, dataDir: dir, password: "x", plugins: ["Metadata", "Bundler"], defaultAuth: "cert+password" as const, allowedProbeGroups: [] });
  const open = (repo: string) => openCore(settings(repo), `sqlite:${join(dir, "store.db")}`, pino({ level: "silent" }));

  it("missing, empty, or without Metadata/groups.xml: a REPO_MISSING error saying which", async () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const noGroups = join(dir, "nogroups");
    mkdirSync(join(noGroups, "Bundler"), { recursive: true });
    const cases: Array<[string, RegExp]> = [
      [join(dir, "missing"), /repository .*\/missing does not exist/],
      [empty, /repository .*\/empty is empty/],
      [noGroups, /Metadata\/groups\.xml: file does not exist/],
    ];
    for (const [repo, want] of cases) {
      await open(repo).then(
        (c) => {
          void c.close();
          expect.fail(`${repo} was opened`);
        },
        (e: Error & { code?: string }) => {
          expect(e.code).to.equal("REPO_MISSING");
          expect(e.message).to.match(want);
        },
      );
    }
  });
});
