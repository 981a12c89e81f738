// Client identity against a real server: hostile names are refused before they reach a file,
// clients.xml or ssh_known_hosts, and an alias or uuid (any case) is held to the auth mode,
// secure flag and password of the client it stands for.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { parseXml } from "../../../protocol/xml.js";
import { parseMethodResponse } from "../../../protocol/xmlrpc/parser.js";
import { issueCertificate, loadCa } from "../../../server/admin/tls-material.js";
import { clockPastEveryLimit, startTestSite, type TestSite } from "./site.js";
import { call, methodCall, pythonClientHeaders, request, type HttpReply } from "./wire.js";
import { addKeyEntries } from "./key-site.js";

function result(r: HttpReply): string {
  expect(r.status, r.body.toString()).to.equal(200);
  const res = parseMethodResponse(r.body.toString("utf8"));
  if (res.kind !== "result") throw new Error(`fault ${res.faultCode}: ${res.faultString}`);
  return String(res.value);
}

describe("client identity at the HTTPS front", function () {
  this.timeout(120_000);
  let site: TestSite;
  let port: number;
  let clientsPath: string;
  const clientsXml = () => readFileSync(clientsPath, "utf8");
  const parses = () => parseXml(clientsXml(), { source: "clients.xml" }).tag === "Clients";

  beforeEach(async () => {
    // Wrong passwords are part of these cases; the auth limit (tested in auth-limit.test.ts) is kept out of the way.
    site = await startTestSite({ clientAuthLimit: clockPastEveryLimit() });
    port = site.server.port;
    clientsPath = join(site.dir, "repo/Metadata/clients.xml");
    addKeyEntries(join(site.dir, "repo"));
    writeFileSync(
      clientsPath,
      clientsXml().replace(
        "</Clients>",
        '  <Client name="sec" profile="torque-worker" secure="true" password="secpw">\n    <Alias name="sec-alias"/>\n  </Client>\n' +
          '  <Client name="CertOnly" profile="torque-worker" auth="cert" floating="true"/>\n' +
          '  <Client name="uuhost" profile="torque-worker" uuid="AbC-42" secure="true" password="uupw"/>\n</Clients>',
      ),
    );
  });
  afterEach(async () => {
    await site?.cleanup();
  });

  it("refuses a traversal name with the site password: no file outside the repository is read as a key", async () => {
    const secret = join(site.dir, "outside-secret");
    writeFileSync(secret, "TOP-SECRET-OUTSIDE-THE-REPOSITORY\n", { mode: 0o600 });
    // From Cfg/root/.ssh/id_ed25519/, "id_ed25519.H_x/.." is the entry directory and six more ".." reach the site directory.
    const name = "x/" + "../".repeat(6) + "outside-secret";
    const r = await call(port, name, "labsecret", "GetConfig");
    expect(r.body.toString()).to.not.include("TOP-SECRET");
    expect(r.status).to.equal(401);
    expect(clientsXml()).to.not.include("outside-secret");
  });

  it("creates no key file at a path the client chose", async () => {
    const name = "y/" + "../".repeat(6) + "planted";
    const statuses: number[] = [];
    for (const m of ["DeclareVersion", "GetConfig"]) statuses.push((await call(port, name, "labsecret", m, ...(m === "DeclareVersion" ? ["1.4.0"] : []))).status);
    expect(existsSync(join(site.dir, "planted")), "a file created outside the repository").to.equal(false);
    expect(clientsXml()).to.not.include("planted");
    expect(statuses).to.deep.equal([401, 401]);
  });

  it("answers 401 to an empty or control-character name, and clients.xml stays readable for everyone else", async () => {
    // A leading byte-order mark is part of the name, not dropped by the decoder (which would make it node3).
    for (const name of ["", "a\x01b", "tab\there", "nul\x00", "new\nline", "\ufeffnode3"]) {
      for (const m of ["DeclareVersion", "GetConfig"]) {
        const r = await call(port, name, "labsecret", m, ...(m === "DeclareVersion" ? ["1.4.0"] : []));
        expect(r.status, `${JSON.stringify(name)} ${m}`).to.equal(401);
      }
    }
    expect(parses()).to.equal(true);
    expect(result(await call(port, "node0", "node0secret", "GetConfig"))).to.match(/^<Configuration/);
    expect(result(await call(port, "newnode", "labsecret", "DeclareVersion", "1.4.0"))).to.equal("true");
  });

  it("leaves out a bad clients.xml entry naming file:line; the other clients are served, and a broken file keeps its last good version", async () => {
    writeFileSync(clientsPath, clientsXml().replace("</Clients>", '  <Client name="" profile="torque-worker"/>\n  <Client name="ok2" profile="torque-worker"/>\n  <Client name="x/../y" profile="torque-worker"/>\n</Clients>'));
    expect(result(await call(port, "ok2", "labsecret", "GetConfig"))).to.match(/^<Configuration/);
    expect(result(await call(port, "node0", "node0secret", "GetConfig"))).to.match(/^<Configuration/);
    const logged = readFileSync(site.logFile, "utf8").split("\n").filter(Boolean).map((l) => String(JSON.parse(l).msg));
    const lines = clientsXml().split("\n");
    const lineOf = (s: string) => lines.findIndex((l) => l.includes(s)) + 1;
    expect(logged).to.include(`${clientsPath}:${lineOf('name=""')}: client name "" is empty; entry ignored`);
    expect(logged.some((m) => m.startsWith(`${clientsPath}:${lineOf("x/../y")}: client name "x/../y" may hold only`)), "x/../y logged").to.equal(true);
    // Broken as a whole (a control character is not XML): the last version that parsed is served, secure stays secure.
    writeFileSync(clientsPath, clientsXml().replace("</Clients>", '<Client name="bad&#1;name"/></Clients>'));
    expect(result(await call(port, "node0", "node0secret", "GetConfig"))).to.match(/^<Configuration/);
    expect((await call(port, "sec", "labsecret", "GetConfig")).status).to.equal(401);
    expect(result(await call(port, "sec", "secpw", "GetConfig"))).to.match(/^<Configuration/);
  });

  it("keeps the name * (and any other rule-breaking name) out of ssh_known_hosts", async () => {
    const star = (await call(port, "*", "labsecret", "GetConfig")).status;
    // A name registered by an older version stays in the store, but never reaches known_hosts.
    await site.server.core.store.upsertClient({ name: "?", profile: "torque-worker", firstSeen: Date.now() });
    const config = parseXml(result(await call(port, "node0", "node0secret", "GetConfig")), { source: "GetConfig" });
    const known = config.children.flatMap((b) => b.children).find((e) => e.attrs.name === "/etc/ssh/ssh_known_hosts");
    expect(known?.text, "ssh_known_hosts").to.match(/node0/);
    for (const line of (known?.text ?? "").split("\n").filter(Boolean)) {
      for (const pattern of line.split(" ")[0].split(",")) expect(pattern, line).to.match(/^[a-z0-9_][a-z0-9._-]*$/);
    }
    expect(star, "status for the name *").to.equal(401);
  });

  it("holds an alias to its client: a secure client's alias with the site password gets nothing and cannot AssertProfile", async () => {
    for (const alias of ["sec-alias", "SEC-ALIAS", "Sec-Alias"]) {
      expect((await call(port, alias, "labsecret", "GetConfig")).status, alias).to.equal(401);
      expect((await call(port, alias, "labsecret", "AssertProfile", "torque-head")).status, alias).to.equal(401);
    }
    expect(clientsXml()).to.include('<Client name="sec" profile="torque-worker"');
    // With the client's own password the alias is that client, in any case.
    const config = result(await call(port, "SEC-Alias", "secpw", "GetConfig"));
    expect(config).to.match(/^<Configuration/);
    expect(clientsXml()).to.not.match(/<Client name="sec-alias"/i);
  });

  it("applies auth= whatever case the name is sent in, and resolves a uuid in any case", async () => {
    for (const user of ["certonly", "CERTONLY", "CertOnly"]) expect((await call(port, user, "labsecret", "GetConfig")).status, user).to.equal(401);
    const pair = issueCertificate(loadCa(site.tlsDir), { cn: "certonly", usage: "client" });
    const r = await request(port, { headers: pythonClientHeaders("ignored", ""), body: methodCall("GetConfig"), cert: pair.certPem, key: pair.keyPem });
    expect(result(r)).to.match(/^<Configuration/);
    // The uuid belongs to a secure client: the site password does not do, in any case, and no new client appears.
    for (const user of ["abc-42", "ABC-42", "AbC-42"]) {
      expect((await call(port, user, "labsecret", "DeclareVersion", "1.4.0")).status, user).to.equal(401);
    }
    expect(clientsXml()).to.not.match(/name="abc-42"/i);
    expect(result(await call(port, "abc-42", "uupw", "DeclareVersion", "1.4.0"))).to.equal("true");
    expect(clientsXml()).to.match(/<Client name="uuhost"[^>]*version="1\.4\.0"/);
  });
});
