// Metadata: groups.xml semantics, profiles, registration and safe clients.xml rewriting.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { parseXml } from "../../../protocol/xml.js";
import { VacfgError } from "../../../protocol/errors.js";
import { harness, type Harness } from "./harness.js";
import { REPO, GROUPS_XML } from "./fixture-repo.js";

describe("server core: metadata", function () {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(REPO);
  });
  afterEach(async () => {
    await h.cleanup();
  });
  const clientsXml = () => readFileSync(join(h.repo, "Metadata/clients.xml"), "utf8");

  it("resolves nested groups, category suppression and negation as upstream", async () => {
    const db1 = await h.core.buildMetadata("db1");
    expect(db1.profile).to.equal("db");
    expect([...db1.groups].sort()).to.deep.equal(["db", "debian", "linux", "unix"]);
    expect(db1.categories.get("os")).to.equal("debian");
    expect([...db1.bundles].sort()).to.deep.equal(["base", "linux"]);
    const odd = await h.core.buildMetadata("odd");
    expect([...odd.groups].sort()).to.deep.equal(["special", "web"]);
    expect(odd.bundles.has("linux")).to.equal(false);
    const uu = await h.core.buildMetadata("uu-alias");
    expect(uu.hostname).to.equal("uuidclient");
    expect(uu.uuid).to.equal("ABC-123");
    expect([...uu.aliases]).to.deep.equal(["uu-alias"]);
  });

  it("faults AssertProfile for a missing or private group with upstream's messages", async () => {
    const err1 = await h.core.assertProfile("web1", "no-such").catch((e: unknown) => e);
    expect(err1).to.be.instanceOf(VacfgError);
    expect((err1 as VacfgError).fault).to.equal(-32500);
    expect((err1 as VacfgError).message).to.equal("Critical failure: Unable to assert profile for web1: Profile group no-such does not exist");
    const err2 = (await h.core.assertProfile("web1", "hidden").catch((e: unknown) => e)) as VacfgError;
    expect(err2.code).to.equal("PROFILE");
    expect(err2.message).to.equal("Critical failure: Unable to assert profile for web1: Cannot set client web1 to private group hidden");
    expect(clientsXml()).to.include('<Client name="web1" profile="web" password="web1pw"/>');
  });

  it("AssertProfile changes profile= in place and keeps the admin's comment", async () => {
    expect(await h.core.assertProfile("odd", "db")).to.equal(true);
    const text = clientsXml();
    expect(text).to.include("<!-- admin note: keep this comment -->");
    expect(text).to.include('<Client name="odd" profile="db"/>');
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Clients>')).to.equal(true);
    expect((await h.core.buildMetadata("odd")).profile).to.equal("db");
    expect((await h.store.getClient("odd"))?.profile).to.equal("db");
  });

  it("DeclareVersion writes version= as upstream (appended attribute, only when it changes)", async () => {
    await h.core.declareVersion("web1", "1.4.0pre2");
    expect(clientsXml()).to.include('<Client name="web1" profile="web" password="web1pw" version="1.4.0pre2"/>');
    const before = clientsXml();
    await h.core.declareVersion("web1", "1.4.0pre2");
    expect(clientsXml()).to.equal(before);
    expect((await h.store.getClient("web1"))?.version).to.equal("1.4.0pre2");
  });

  it("registers an unknown client with the default profile in the store and clients.xml, keeping comments", async () => {
    await h.core.declareVersion("node9", "1.4.0pre2");
    const text = clientsXml();
    expect(text).to.include("<!-- admin note: keep this comment -->");
    expect(text).to.match(/ {2}<Client name="node9" profile="web" version="1.4.0pre2"\/>\n<\/Clients>\n$/);
    const reg = await h.store.getClient("node9");
    expect(reg?.profile).to.equal("web");
    expect(parseXml(text).children.filter((c) => c.tag === "Client")).to.have.length(8);
  });

  it("keeps its parsed clients.xml in step with its own writes, and still sees a hand edit made right after", async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) => h.core.declareVersion(`burst${i}`, `1.${i}`)));
    for (let i = 0; i < 50; i++) expect(await h.core.buildMetadata(`burst${i}`)).to.deep.include({ profile: "web", version: `1.${i}` });
    expect(await h.core.assertProfile("burst3", "db")).to.equal(true);
    expect((await h.core.buildMetadata("burst3")).profile).to.equal("db");
    const path = join(h.repo, "Metadata/clients.xml");
    writeFileSync(path, clientsXml().replace('<Client name="burst4" profile="web"', '<Client name="burst4" profile="db"'));
    expect((await h.core.buildMetadata("burst4")).profile).to.equal("db");
    expect(parseXml(clientsXml()).children.filter((c) => c.tag === "Client")).to.have.length(7 + 50);
  });

  it("knows clients another server process registered in the shared store", async () => {
    await h.store.upsertClient({ name: "storeonly", profile: "db", firstSeen: Date.now() });
    const other = await h.second();
    const meta = await other.core.buildMetadata("storeonly");
    expect(meta.profile).to.equal("db");
    expect(clientsXml()).to.not.include("storeonly");
    // And probe data sent to one process is seen by the other.
    await h.core.recvProbeData("web1", '<ProbeData><probe-data name="hw" source="Probes">x\ngroup:big\n</probe-data></ProbeData>');
    const seen = await other.core.buildMetadata("web1");
    expect(seen.groups.has("bighost")).to.equal(true);
    expect(String((seen.connectors.Probes as Record<string, unknown>).hw)).to.equal("x\n");
  });

  it("concurrent registrations (two processes) keep clients.xml whole", async () => {
    const other = await h.second();
    const names = Array.from({ length: 30 }, (_, i) => `new${i}`);
    await Promise.all(names.map((n, i) => (i % 2 ? h.core : other.core).declareVersion(n, `1.${i}`)));
    const text = clientsXml();
    const clients = parseXml(text).children.filter((c) => c.tag === "Client").map((c) => c.attrs.name);
    for (const n of names) expect(clients).to.include(n);
    expect(clients).to.have.length(7 + names.length);
    expect(text).to.include("<!-- admin note: keep this comment -->");
    for (const [i, n] of names.entries()) expect(text).to.include(`<Client name="${n}" profile="web" version="1.${i}"/>`);
  });

  it("a broken groups.xml names file:line, GetConfig answers a metadata error, and recovers once fixed", async () => {
    const path = join(h.repo, "Metadata/groups.xml");
    writeFileSync(path, GROUPS_XML.replace('<Group name="hidden" profile="true" public="false"/>', '<Group name="hidden" profile="true"'));
    expect(await h.core.getConfig("web1")).to.equal('<error type="metadata error"/>');
    const err = (await h.core.getProbes("web1").catch((e: unknown) => e)) as VacfgError;
    expect(err.fault).to.equal(-32500);
    expect(err.message).to.match(/^Critical failure: Client metadata resolution error for web1: .*groups\.xml:\d+/);
    writeFileSync(path, GROUPS_XML);
    expect(await h.core.getConfig("web1")).to.match(/^<Configuration version="2.0" revision="-1"><Bundle name="base">/);
  });

  it("merges groups again after the connectors' groups, as upstream does: a pass that adds and removes as many groups does not end it", async () => {
    // p's members are in b, b's in a, a's in c and not in b. The first merge stops after the pass
    // that adds a and removes b (the count is unchanged); upstream's merge_additional_groups merges
    // again, with no connector group to add, and that adds c.
    writeFileSync(
      join(h.repo, "Metadata/groups.xml"),
      `<Groups>
  <Group name="p" profile="true" public="true" default="true"><Group name="b"/></Group>
  <Group name="b"><Group name="a"/></Group>
  <Group name="a"><Group name="b" negate="true"/><Group name="c"/></Group>
  <Group name="c"/>
</Groups>
`,
    );
    const meta = await h.core.buildMetadata("swap1");
    expect([...meta.groups].sort()).to.deep.equal(["a", "c", "p"]);
    expect(meta.profile).to.equal("p");
  });

  it("an unknown client with no default group is a metadata error", async () => {
    writeFileSync(join(h.repo, "Metadata/groups.xml"), GROUPS_XML.replace(' default="true"', ""));
    expect(await h.core.getConfig("stranger")).to.equal('<error type="metadata error"/>');
    const err = (await h.core.declareVersion("stranger", "1").catch((e: unknown) => e)) as VacfgError;
    expect(err.message).to.equal("Critical failure: Unable to set version for stranger: Cannot add new client stranger; no default group set");
  });
});
