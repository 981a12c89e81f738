// XInclude in repository files through the real Core: groups.xml, clients.xml, bundles, Rules,
// Properties and Decisions pieces, nesting, fallback, refusals, and edits of an included file.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { isVacfgError, VacfgError } from "../../../../protocol/errors.js";
import { parseXml, serializeXml } from "../../../../protocol/xml.js";
import { lintRepository } from "../../../../server/lint/lint-repository.js";
import { resolveXIncludes } from "../../../../server/plugins/shared/xinclude.js";
import { harness, writeRepo, type Harness } from "../../core/harness.js";

const XI = 'xmlns:xi="http://www.w3.org/2001/XInclude"';

const BASE: Record<string, string> = {
  "Metadata/groups.xml": `<Groups ${XI}>
  <Group name="web" profile="true" public="true" default="true">
    <Bundle name="main"/>
  </Group>
  <Group name="db" profile="true" public="true"/>
  <xi:include href="groups.d/extra.xml"/>
</Groups>
`,
  "Metadata/groups.d/extra.xml": `<Groups ${XI}>
  <Group name="web">
    <Group name="from-include"/>
  </Group>
  <Group name="from-include">
    <Bundle name="included-bundle"/>
  </Group>
  <xi:include href="deeper.xml"/>
</Groups>
`,
  "Metadata/groups.d/deeper.xml": `<Groups>
  <Group name="web"><Group name="nested-level"/></Group>
  <Group name="nested-level"/>
</Groups>
`,
  "Metadata/clients.xml": `<Clients xmlns:x="http://www.w3.org/2001/XInclude">
  <Client name="c1" profile="web"/>
  <x:include href="more-clients.xml"/>
</Clients>
`,
  "Metadata/more-clients.xml": `<Clients><Client name="c2" profile="web" password="c2pw"/></Clients>\n`,
  "Bundler/main.xml": `<Bundle ${XI}>
  <xi:include href="parts/main-part.xml"/>
  <Package name="a-first"/>
</Bundle>
`,
  "Bundler/parts/main-part.xml": `<Bundle ${XI}><Package name="from-part"/><xi:include href="optional.xml"><xi:fallback><Package name="fallback-pkg"/></xi:fallback></xi:include></Bundle>\n`,
  "Bundler/included-bundle.xml": `<Bundle><Package name="ib-pkg"/></Bundle>\n`,
  "Rules/r.xml": `<Rules priority="1" ${XI}><Package name="a-first" type="deb" version="any"/><xi:include href="../Rules-parts/pkgs.xml"/></Rules>\n`,
  "Rules-parts/pkgs.xml": `<Rules><Package name="from-part" type="deb" version="1.0"/><Package name="fallback-pkg" type="deb" version="any"/><Package name="ib-pkg" type="deb" version="any"/></Rules>\n`,
  "Decisions/whitelist.xml": `<Decisions ${XI}><xi:include href="wl-part.xml"/></Decisions>\n`,
  "Decisions/wl-part.xml": `<Decisions><Decision type="Package" name="from-decision-part"/></Decisions>\n`,
};

/** Rewrites a repository file with a new mtime (so the stat signature surely changes). */
function edit(h: Harness, rel: string, text: string): void {
  const p = join(h.repo, rel);
  writeFileSync(p, text);
  const t = new Date(Date.now() + 5_000);
  utimesSync(p, t, t);
}

function packages(config: string): string[] {
  const out: string[] = [];
  const walk = (e: ReturnType<typeof parseXml>) => {
    for (const c of e.children) {
      if (c.tag === "Package") out.push(`${c.attrs.name}@${c.attrs.version}`);
      walk(c);
    }
  };
  walk(parseXml(config));
  return out;
}

async function refusal(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a refusal");
}

describe("XInclude in repository files (real Core)", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(BASE);
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it("groups.xml that includes a file of groups, which includes another: the client has them all", async () => {
    const meta = await h.core.buildMetadata("c1");
    expect([...meta.groups].sort()).to.deep.equal(["from-include", "nested-level", "web"]);
    expect([...meta.bundles].sort()).to.deep.equal(["included-bundle", "main"]);
  });

  it("clients.xml includes (another prefix) register the included clients", async () => {
    const meta = await h.core.buildMetadata("c2");
    expect(meta.profile).to.equal("web");
    expect((await h.core.authenticate({ user: "c2", password: "c2pw", address: "127.0.0.1" } as never))?.client).to.equal("c2");
    // DeclareVersion of an included client leaves clients.xml alone; AssertProfile is refused, naming why, with nothing written
    const main = readFileSync(join(h.repo, "Metadata/clients.xml"), "utf8");
    await h.core.declareVersion("c2", "1.4.0");
    const err = await h.core.assertProfile("c2", "db").catch((e: unknown) => e);
    expect(err).to.be.instanceOf(VacfgError).and.have.property("message").that.matches(/client c2 is defined in a file that clients.xml includes/);
    expect(readFileSync(join(h.repo, "Metadata/clients.xml"), "utf8")).to.equal(main);
    expect((await h.store.getClient("c2"))?.profile).to.not.equal("db");
  });

  it("a bundle including another (with a nested fallback) binds through Rules that include a part", async () => {
    const config = await h.core.getConfig("c1");
    expect(packages(config).sort()).to.deep.equal(["a-first@any", "fallback-pkg@any", "from-part@1.0", "ib-pkg@any"]);
    expect(config).not.to.include("xi:");
    expect(await h.core.getDecisionList("c1", "whitelist")).to.deep.equal([["Package", "from-decision-part"]]);
  });

  it("editing an included file (or creating one a fallback stood for) takes effect on the next GetConfig", async () => {
    expect(packages(await h.core.getConfig("c1"))).to.include("fallback-pkg@any");
    edit(h, "Rules-parts/pkgs.xml", `<Rules><Package name="from-part" type="deb" version="2.0"/><Package name="opt" type="deb" version="any"/><Package name="ib-pkg" type="deb" version="any"/></Rules>\n`);
    // A nested include's root lands as it is (a nested <Bundle> would stay nested, as upstream): one entry here.
    edit(h, "Bundler/parts/optional.xml", `<Package name="opt"/>\n`);
    const after = await h.core.getConfig("c1");
    expect(packages(after).sort()).to.deep.equal(["a-first@any", "from-part@2.0", "ib-pkg@any", "opt@any"]);
    // Two levels down in groups.xml: the new group shows up without a restart.
    edit(h, "Metadata/groups.d/deeper.xml", `<Groups><Group name="web"><Group name="late"/></Group><Group name="late"/></Groups>\n`);
    expect([...(await h.core.buildMetadata("c1")).groups].sort()).to.deep.equal(["from-include", "late", "web"]);
  });

  it("a missing file without fallback is a REPO_FILE error naming including-file:line and the href", async () => {
    edit(h, "Metadata/groups.d/extra.xml", `<Groups ${XI}>\n\n  <xi:include href="gone.xml"/>\n</Groups>\n`);
    const err = await refusal(h.core.buildMetadata("c1"));
    expect(isVacfgError(err) && err.code).to.equal("REPO_FILE");
    expect(err.message).to.include(`${join(h.repo, "Metadata/groups.d/extra.xml")}:3: xi:include href="gone.xml"`).and.include("does not exist");
    // Creating it repairs the server on the next request.
    writeRepo(h.repo, { "Metadata/groups.d/gone.xml": `<Groups><Group name="web"><Group name="back"/></Group><Group name="back"/></Groups>` });
    expect([...(await h.core.buildMetadata("c1")).groups]).to.include("back");
  });

  it("an error inside an included file names that file and line", async () => {
    edit(h, "Metadata/groups.d/deeper.xml", `<Groups>\n  <Group name="web">\n    <Group/>\n  </Group>\n</Groups>\n`);
    const err = await refusal(h.core.buildMetadata("c1"));
    expect(err.message).to.include(`${join(h.repo, "Metadata/groups.d/deeper.xml")}:3`);
    edit(h, "Metadata/groups.d/deeper.xml", `<Groups>\n  <Group name="web">\n</Groups>\n`);
    expect((await refusal(h.core.buildMetadata("c1"))).message).to.include(join(h.repo, "Metadata/groups.d/deeper.xml"));
  });

  it("an include cycle is refused", async () => {
    edit(h, "Metadata/groups.d/deeper.xml", `<Groups ${XI}><xi:include href="extra.xml"/></Groups>\n`);
    const err = await refusal(h.core.buildMetadata("c1"));
    expect(isVacfgError(err) && err.code).to.equal("REPO_FILE");
    expect(err.message).to.include("include cycle").and.include("Metadata/groups.d/extra.xml → Metadata/groups.d/deeper.xml → Metadata/groups.d/extra.xml");
  });

  it("includes that leave the repository (.., absolute, symlink out) and parse=text are refused", async () => {
    const outside = mkdtempSync(join(tmpdir(), "vacfg-outside-"));
    try {
      writeFileSync(join(outside, "g.xml"), `<Groups><Group name="evil"/></Groups>`);
      symlinkSync(join(outside, "g.xml"), join(h.repo, "Metadata", "link.xml"));
      const cases: Array<[string, string]> = [
        [`../../../../${outside.split("/").pop()}/g.xml`, "points outside the repository"],
        [join(outside, "g.xml"), "absolute paths are not allowed"],
        ["../link.xml", "resolves outside the repository"],
        ["file:///etc/passwd", "not URLs"],
      ];
      for (const [href, why] of cases) {
        edit(h, "Metadata/groups.d/deeper.xml", `<Groups ${XI}><xi:include href="${href}"/></Groups>\n`);
        const err = await refusal(h.core.buildMetadata("c1"));
        expect(err.message, href).to.include(why);
      }
      edit(h, "Metadata/groups.d/deeper.xml", `<Groups ${XI}><xi:include href="x.txt" parse="text"/></Groups>\n`);
      expect((await refusal(h.core.buildMetadata("c1"))).message).to.include('parse="text" is not supported');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe("resolveXIncludes (the shared resolver)", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-xi-"));
    mkdirSync(join(dir, "sub"));
    writeRepo(dir, {
      "sub/a.xml": `<A><x/></A>`,
      "sub/b.xml": `<B ${XI}><xi:include href="../c.xml"/></B>`,
      "c.xml": `<C/>`,
      "g/1.xml": `<G n="1"/>`,
      "g/2.xml": `<G n="2"/>`,
      "g/.hidden.xml": `<G n="h"/>`,
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const resolve = (src: string) => {
    const deps = new Map<string, string | undefined>();
    const root = resolveXIncludes(parseXml(src), join(dir, "main.xml"), { repo: dir, deps });
    return { xml: serializeXml(root), deps };
  };

  it("places top-level includes at the end of their parent, nested ones in place, with xml:base as libxml2", () => {
    const { xml, deps } = resolve(`<R ${XI}><xi:include href="sub/b.xml"/><k/><xi:include href="c.xml"/></R>`);
    expect(xml).to.equal(`<R ${XI}><k/><B ${XI} xml:base="sub/b.xml"><C xml:base="../c.xml"/></B><C/></R>`);
    expect([...deps.keys()].sort()).to.deep.equal([join(dir, "c.xml"), join(dir, "sub/b.xml")]);
  });

  it("expands a glob in the href (upstream's extension), sorted, without dot files, watching the directory", () => {
    const { xml, deps } = resolve(`<R ${XI}><xi:include href="g/*.xml"/></R>`);
    expect(xml).to.equal(`<R ${XI}><G n="1" xml:base="g/1.xml"/><G n="2" xml:base="g/2.xml"/></R>`);
    expect(deps.has(join(dir, "g"))).to.equal(true);
  });

  it("uses the fallback's content for a missing file, and records the missing path", () => {
    const { xml, deps } = resolve(`<R xmlns:i="http://www.w3.org/2001/XInclude"><i:include href="nope.xml"><i:fallback><z/></i:fallback></i:include></R>`);
    expect(xml).to.equal(`<R xmlns:i="http://www.w3.org/2001/XInclude"><z/></R>`);
    expect(deps.get(join(dir, "nope.xml"))).to.equal(undefined);
    expect(deps.has(join(dir, "nope.xml"))).to.equal(true);
  });

  it("leaves elements of other namespaces named include alone", () => {
    expect(resolve(`<R xmlns:xi="urn:other"><xi:include href="c.xml"/></R>`).xml).to.equal(`<R xmlns:xi="urn:other"><xi:include href="c.xml"/></R>`);
  });
});

describe("vacfg lint follows groups.xml XIncludes with the same resolver", () => {
  it("groups declared in a nested include count as defined", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vacfg-xi-lint-"));
    try {
      writeRepo(dir, {
        ...BASE,
        "Bundler/main.xml": `<Bundle><Group name="nested-level"><Package name="p"/></Group><Group name="nowhere"><Package name="q"/></Group></Bundle>\n`,
      });
      const problems = await lintRepository(dir);
      const undefinedGroups = problems.filter((p) => p.code === "undefined-group").map((p) => p.message);
      expect(undefinedGroups).to.deep.equal(['group "nowhere" is not defined in groups.xml']);
    } catch (e) {
      throw e;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
