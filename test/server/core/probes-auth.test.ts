// Probes (specificity, group: lines, structured views), authentication rules, and the Context plugin.
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { parseProbes } from "../../../protocol/documents/probes.js";
import { VacfgError } from "../../../protocol/errors.js";
import { parameterFileFromJson, parameterFileToJson } from "../../../protocol/params.js";
import { signParameters } from "../../../protocol/params-signature.js";
import type { ProbeValueView } from "../../../server/core/metadata.js";
import { harness, type Harness } from "./harness.js";
import { REPO, CLIENTS_XML } from "./fixture-repo.js";

describe("server core: probes", function () {
  let h: Harness;
  afterEach(async () => {
    await h?.cleanup();
  });

  it("sends the most specific probe (host > group > plain) with its #! interpreter", async () => {
    h = await harness(REPO);
    const byName = async (c: string) => Object.fromEntries(parseProbes(await h.core.getProbes(c)).map((p) => [p.name, p]));
    const web1 = await byName("web1");
    expect(web1.os.interpreter).to.equal("/usr/bin/env python3");
    expect(web1.os.script).to.equal("#!/usr/bin/env python3\nprint('host-web1')\n");
    expect((await byName("db1")).os.interpreter).to.equal("/bin/bash");
    expect((await byName("odd")).os.script).to.equal("#!/bin/sh\necho plain\n");
    expect(Object.keys(web1).sort()).to.deep.equal(["hw", "os"]);
  });

  it("answers <probes/> when there are none", async () => {
    const { "Probes/os": _a, "Probes/os.G50_db": _b, "Probes/os.H_web1": _c, "Probes/hw": _d, ...rest } = REPO;
    h = await harness(rest);
    expect(await h.core.getProbes("web1")).to.equal("<probes/>");
  });

  it("turns group: lines into groups (limited by allowed groups), stores the rest, offers .json and .xdata", async () => {
    h = await harness(REPO, { allowedProbeGroups: [/big/, /ok-.*/] });
    const data = '<ProbeData><probe-data name="hw" source="Probes">{"cpus": 4}\ngroup:big  trailing\ngroup:bigger\ngroup:ok-1\n</probe-data><probe-data name="x" source="Probes">&lt;a n="1"&gt;&lt;b/&gt;&lt;/a&gt;</probe-data><probe-data name="lost" source="NoSuchPlugin">q</probe-data></ProbeData>';
    expect(await h.core.recvProbeData("web1", data)).to.equal(true);
    const stored = await h.store.getProbeData("web1");
    expect(stored?.groups.sort()).to.deep.equal(["big", "ok-1"]);
    expect(stored?.values.find((v) => v.name === "hw")?.value).to.equal('{"cpus": 4}\n');
    const meta = await h.core.buildMetadata("web1");
    expect(meta.groups.has("big") && meta.groups.has("bighost") && !meta.groups.has("bigger")).to.equal(true);
    const probes = meta.connectors.Probes as Record<string, ProbeValueView>;
    expect(probes.hw.json).to.deep.equal({ cpus: 4 });
    expect(`${probes.hw}`).to.equal('{"cpus": 4}\n');
    expect(probes.x.xdata?.attrs.n).to.equal("1");
    expect(probes.x.json).to.equal(undefined);
  });

  it("keys probe data by the canonical client name when a client calls itself by an alias", async () => {
    h = await harness(REPO);
    await h.core.recvProbeData("uu-alias", '<ProbeData><probe-data name="hw" source="Probes">group:big</probe-data></ProbeData>');
    expect((await h.store.getProbeData("uuidclient"))?.groups).to.deep.equal(["big"]);
    expect((await h.core.buildMetadata("uu-alias")).groups.has("bighost")).to.equal(true);
  });

  it("refuses unparseable probe data with a critical fault", async () => {
    h = await harness(REPO);
    const err = (await h.core.recvProbeData("web1", "<ProbeData><oops").catch((e: unknown) => e)) as VacfgError;
    expect(err.fault).to.equal(-32500);
    expect(err.message).to.match(/^Critical failure: Failed to parse probe data from client web1: /);
  });
});

describe("server core: authentication", function () {
  let h: Harness;
  before(async () => {
    h = await harness(REPO);
  });
  after(async () => {
    await h.cleanup();
  });
  const auth = async (user: string, password: string, address = "127.0.0.1", certCN?: string) => (await h.core.authenticate({ user, password, address, ...(certCN ? { certCN } : {}) }))?.client;

  it("accepts the site password or the client's own; a secure client only its own", async () => {
    expect(await auth("web1", "sitesecret")).to.equal("web1");
    expect(await auth("web1", "web1pw")).to.equal("web1");
    expect(await auth("web1", "wrong")).to.equal(undefined);
    expect(await auth("db1", "sitesecret")).to.equal(undefined);
    expect(await auth("db1", "db1pw")).to.equal("db1");
  });

  it("maps a uuid user to its client; unknown users are client names (registered on first use)", async () => {
    expect(await auth("ABC-123", "sitesecret")).to.equal("uuidclient");
    expect(await auth("Fresh1", "sitesecret")).to.equal("fresh1");
    expect(await auth("Fresh1", "nope")).to.equal(undefined);
  });

  it("canonicalizes first: an alias or uuid in any case is its client, held to that client's auth mode, secure flag and password", async () => {
    expect(await auth("UU-ALIAS", "sitesecret")).to.equal("uuidclient");
    expect(await auth("abc-123", "sitesecret")).to.equal("uuidclient");
    expect(await auth("WEB1", "web1pw")).to.equal("web1");
    expect(await auth("DB1", "sitesecret")).to.equal(undefined);
    expect(await auth("Db1", "db1pw", "127.0.0.1")).to.equal("db1");
    expect(await auth("CERTY", "sitesecret", "127.0.0.9")).to.equal(undefined);
    expect(await auth("ignored", "", "127.0.0.9", "CERTY")).to.equal("certy");
  });

  it("refuses names that break the client-name rule, from the user, a certificate or a uuid", async () => {
    for (const name of ["", "*", "x/../db1", "a b", "web1\x00", "wéb1", "x".repeat(129)]) {
      expect(await auth(name, "sitesecret"), JSON.stringify(name)).to.equal(undefined);
      expect(await auth("ignored", "sitesecret", "127.0.0.1", name || "x,y"), `cert ${JSON.stringify(name)}`).to.equal(undefined);
    }
    expect((await h.store.listClients()).map((c) => c.name)).to.not.include("*");
  });

  it("finds root by its address (clients.xml address, alias address) and refuses unknown addresses", async () => {
    expect(await auth("root", "db1pw", "127.0.0.5")).to.equal("db1");
    expect(await auth("root", "sitesecret", "127.0.0.7")).to.equal("uuidclient");
    // 127.0.0.1 reverse-resolves to localhost (a new client, as upstream's wire case 06); 127.3.4.5 has no name.
    expect(await auth("root", "sitesecret", "127.0.0.1")).to.equal("localhost");
    expect(await auth("root", "sitesecret", "127.3.4.5")).to.equal(undefined);
  });

  it("takes the name from a certificate and checks its address unless floating", async () => {
    expect(await auth("whatever", "sitesecret", "127.0.0.1", "roamer")).to.equal("roamer");
    expect(await auth("whatever", "sitesecret", "127.0.0.1", "web1")).to.equal(undefined);
    expect(await auth("whatever", "sitesecret", "127.0.0.5", "db1")).to.equal(undefined);
    expect(await auth("whatever", "db1pw", "127.0.0.5", "db1")).to.equal("db1");
    // auth="cert": no password needed with the certificate, refused without one.
    expect(await auth("x", "", "127.0.0.9", "certy")).to.equal("certy");
    expect(await auth("certy", "sitesecret", "127.0.0.9")).to.equal(undefined);
  });

  it("bootstrap: the password works until the client has presented its certificate once", async () => {
    expect(await auth("boot", "sitesecret")).to.equal("boot");
    expect(await auth("ignored", "", "127.0.0.1", "boot")).to.equal("boot");
    expect(await auth("boot", "sitesecret")).to.equal(undefined);
  });
});

describe("server core: Context plugin", function () {
  let h: Harness;
  afterEach(async () => {
    await h?.cleanup();
  });

  // The site's signing key: parameter files count only when signed with it for the client itself.
  const site = generateKeyPairSync("ed25519");
  const sitePublic = site.publicKey.export({ type: "spki", format: "pem" }) as string;
  const contextRepo = {
    ...REPO,
    "Metadata/clients.xml": CLIENTS_XML.replace("</Clients>", '  <Client name="head.example.org" profile="web"/>\n  <Client name="w2" profile="web"><Alias name="worker-two"/></Client>\n</Clients>'),
    "Context/groups.xml": '<ContextGroups>\n  <Group name="torque-head" param="nodenames" position="first"/>\n  <Group name="torque-worker" param="nodenames" position="rest"/>\n</ContextGroups>\n',
  };
  const params = { DNSServer: ["10.0.0.1"], nodenames: ["head", "worker-two", "w3"], users: [{ name: "alice", value: "k" }] };
  /** The probe data an agent sends: the JSON form, signed for `node` with `key` (unsigned without). */
  const probeData = (json: Record<string, unknown>, node?: string, key: KeyObject = site.privateKey) => {
    const p = parameterFileFromJson(json);
    const body = JSON.stringify(parameterFileToJson(p, node ? signParameters(p, node, key) : undefined));
    return `<ProbeData><probe-data name="vacfg-context" source="Probes">${body.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</probe-data></ProbeData>`;
  };

  it("exposes signed vacfg-context params and adds groups by list position (hostname, short name, alias)", async () => {
    h = await harness(contextRepo, { contextKeys: [sitePublic] });
    for (const c of ["head.example.org", "w2"]) await h.core.recvProbeData(c, probeData(params, c));
    const head = await h.core.buildMetadata("head.example.org");
    expect(head.connectors.Context).to.deep.equal(params);
    expect(head.groups.has("torque-head")).to.equal(true);
    expect(head.groups.has("torque-worker")).to.equal(false);
    const w2 = await h.core.buildMetadata("w2");
    expect(w2.groups.has("torque-worker")).to.equal(true);
    expect((await h.core.buildMetadata("web1")).groups.has("torque-worker")).to.equal(false);
  });

  it("unsigned, tampered, re-signed or another node's parameters derive no group and no template data", async () => {
    h = await harness(contextRepo, { contextKeys: [sitePublic] });
    const promoted = { ...params, nodenames: ["worker-two", "head", "w3"] };
    const other = generateKeyPairSync("ed25519").privateKey;
    const tampered = probeData(params, "w2").replace("worker-two", "xorker-two");
    const cases: Record<string, string> = {
      unsigned: probeData(promoted),
      "signed with another key": probeData(promoted, "w2", other),
      tampered: tampered,
      "signed for another node": probeData(promoted, "head.example.org"),
    };
    for (const [what, pd] of Object.entries(cases)) {
      await h.core.recvProbeData("w2", pd);
      const w2 = await h.core.buildMetadata("w2");
      expect([...w2.groups].filter((g) => g.startsWith("torque-")), what).to.deep.equal([]);
      expect(w2.connectors.Context, what).to.deep.equal({});
    }
    // the alias is a name of the client too: parameters signed for it are its own
    await h.core.recvProbeData("w2", probeData(promoted, "WORKER-TWO"));
    expect((await h.core.buildMetadata("w2")).groups.has("torque-head")).to.equal(true);
  });

  it("allow_unsigned (a lab setting) lets unsigned parameters derive groups, and logs that it does", async () => {
    h = await harness(contextRepo, { contextKeys: [sitePublic], contextAllowUnsigned: true });
    await h.core.recvProbeData("w2", probeData(params));
    expect((await h.core.buildMetadata("w2")).groups.has("torque-worker")).to.equal(true);
    // a bad signature is still refused: the setting admits unsigned files, not forged ones
    await h.core.recvProbeData("w2", probeData(params, "w2", generateKeyPairSync("ed25519").privateKey));
    expect((await h.core.buildMetadata("w2")).groups.has("torque-worker")).to.equal(false);
  });

  it("a broken Context/groups.xml adds no groups and breaks nothing", async () => {
    h = await harness({ ...REPO, "Context/groups.xml": "<ContextGroups><Group name=" });
    mkdirSync(join(h.repo, "Context"), { recursive: true });
    writeFileSync(join(h.repo, "Context/groups.xml"), "<ContextGroups><Group name=");
    expect(await h.core.getConfig("web1")).to.match(/^<Configuration/);
  });
});
