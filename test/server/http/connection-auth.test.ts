// A kept-alive connection's successful authentication is remembered (the front does not decide it
// again for the same Authorization header), but only while every input of that decision is
// unchanged: a change of clients.xml (the client's password, secure flag, the client's entry itself),
// a failure or lockout for the address or the name (in this process, or in another one on the same
// store once this one's clean read is a second old) takes effect on the very next request on the same
// connection. A different header on the connection is decided afresh, and a refusal counts.
import https from "node:https";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { expect } from "chai";
import { parseMethodResponse } from "../../../protocol/xmlrpc/parser.js";
import { racilyCleanUntil } from "../../../server/core/file-cache.js";
import type { StartedServer } from "../../../server/start-server.js";
import { startTestSite, type TestSite } from "./site.js";
import { methodCall, pythonClientHeaders, request, type HttpReply } from "./wire.js";

const OWN = "ka-own-password-1";
const OTHER = "ka-own-password-2";

describe("authentication remembered per kept-alive connection", function () {
  this.timeout(180_000);
  let site: TestSite;
  let clientsXml: string;
  let original: string;
  let clock = Date.parse("2026-06-01T12:00:00Z");
  const agents: https.Agent[] = [];

  before(async function () {
    site = await startTestSite({ clientAuthLimit: { now: () => clock } });
    clientsXml = join(site.config.settings.repo, "Metadata/clients.xml");
    original = readFileSync(clientsXml, "utf8");
  });
  after(async function () {
    for (const a of agents) a.destroy();
    await site?.cleanup();
  });
  beforeEach(function () {
    clock += 3_600_000; // no lockout or counting window of an earlier test reaches this one
    writeClients("");
  });

  /** clients.xml as the test site has it plus `extra` entries, replaced the way editors save (a new file renamed over). */
  function writeClients(extra: string): void {
    const tmp = `${clientsXml}.tmp`;
    writeFileSync(tmp, original.replace("</Clients>", `${extra}</Clients>`));
    renameSync(tmp, clientsXml);
  }

  /** One connection: every call goes over the same socket while the server keeps it. */
  function connection(): https.Agent {
    const a = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    agents.push(a);
    return a;
  }

  const call = (agent: https.Agent | false, user: string, password: string, localAddress = "127.0.0.1", srv: StartedServer = site.server): Promise<HttpReply> =>
    request(srv.port, { agent, localAddress, headers: pythonClientHeaders(user, password), body: methodCall("GetProbes") });
  const ok = (r: HttpReply): boolean => r.status === 200 && parseMethodResponse(r.body.toString("utf8")).kind === "result";
  const decisions = (srv: StartedServer = site.server): number => srv.core.timings.get("Core:authenticate")?.count ?? 0;

  it("decides once per connection while nothing changes, then refuses the old password on the same connection once clients.xml changes it", async function () {
    writeClients(`  <Client name="ka-secure" profile="appliance" secure="true" password="${OWN}"/>\n`);
    // A clients.xml read within a clock tick of its change is read again on the next request (a
    // same-size edit in that tick would look unchanged: file-cache.ts), and a new parse is a new
    // input of the decision. Nothing changes from here on, so no request may decide again.
    while (Date.now() <= racilyCleanUntil(clientsXml)) await new Promise((r) => setTimeout(r, 5));
    const conn = connection();
    const first = await call(conn, "ka-secure", OWN);
    expect(ok(first)).to.equal(true);
    const before = decisions();
    const again = await call(conn, "ka-secure", OWN);
    expect(ok(again)).to.equal(true);
    expect(again.localPort).to.equal(first.localPort);
    expect(decisions()).to.equal(before); // remembered: not decided again

    writeClients(`  <Client name="ka-secure" profile="appliance" secure="true" password="${OTHER}"/>\n`);
    const stale = await call(conn, "ka-secure", OWN);
    expect(stale.localPort).to.equal(first.localPort); // the same connection...
    expect(stale.status).to.equal(401); // ...refused at once
    expect(ok(await call(connection(), "ka-secure", OTHER))).to.equal(true);
  });

  it("refuses the site password on the same connection once clients.xml makes the client secure", async function () {
    writeClients(`  <Client name="ka-plain" profile="appliance" password="${OWN}"/>\n`);
    const conn = connection();
    const first = await call(conn, "ka-plain", "labsecret");
    expect(ok(first)).to.equal(true);
    expect(ok(await call(conn, "ka-plain", "labsecret"))).to.equal(true);
    writeClients(`  <Client name="ka-plain" profile="appliance" secure="true" password="${OWN}"/>\n`);
    const stale = await call(conn, "ka-plain", "labsecret");
    expect(stale.localPort).to.equal(first.localPort);
    expect(stale.status).to.equal(401);
  });

  it("refuses a removed client's own password on the same connection", async function () {
    writeClients(`  <Client name="ka-gone" profile="appliance" secure="true" password="${OWN}"/>\n`);
    const conn = connection();
    const first = await call(conn, "ka-gone", OWN);
    expect(ok(first)).to.equal(true);
    expect(ok(await call(conn, "ka-gone", OWN))).to.equal(true);
    writeClients("");
    const stale = await call(conn, "ka-gone", OWN);
    expect(stale.localPort).to.equal(first.localPort);
    expect(stale.status).to.equal(401);
  });

  // A new connection per call (as the Python client makes) is admitted without a wait while the limits
  // know the address and the name to be quiet (ClientAuthLimit.admitNow): the same inputs must count.
  for (const kept of [true, false]) {
    const on = kept ? "the same connection" : "a new connection per call";
    const conn = (): https.Agent | false => (kept ? connection() : false);
    const same = (a: HttpReply, b: HttpReply): void => void (kept && expect(a.localPort).to.equal(b.localPort));

    it(`refuses ${on} once its address is locked out by failures on other connections, with Retry-After`, async function () {
      const from = kept ? "127.0.0.21" : "127.0.0.31";
      const c = conn();
      const first = await call(c, "node1", "labsecret", from);
      expect(ok(first)).to.equal(true);
      expect(ok(await call(c, "node1", "labsecret", from))).to.equal(true);
      for (let i = 0; i < 10; i++) expect((await call(false, "node1", `guess-${i}`, from)).status).to.equal(401);
      const locked = await call(c, "node1", "labsecret", from);
      same(locked, first);
      expect(locked.status).to.equal(401);
      expect(locked.headers["retry-after"]).to.equal("900");
    });

    it(`sees on ${on} a lockout another server process stored once its own clean read is a second old, as without the memo`, async function () {
      const from = kept ? "127.0.0.22" : "127.0.0.32";
      const b = await site.another({}); // the same store, its own limit and memo
      const c = conn();
      const first = await call(c, "node1", "labsecret", from);
      expect(ok(first)).to.equal(true);
      expect(ok(await call(c, "node1", "labsecret", from))).to.equal(true);
      for (let i = 0; i < 10; i++) expect((await call(false, "node1", `guess-${i}`, from, b)).status).to.equal(401);
      clock += 999;
      expect(ok(await call(c, "node1", "labsecret", from))).to.equal(true); // within the second its clean read is trusted
      clock += 2;
      const locked = await call(c, "node1", "labsecret", from);
      same(locked, first);
      expect(locked.status).to.equal(401);
      expect(locked.headers["retry-after"]).to.match(/^\d+$/);
    });
  }

  it("decides every new connection afresh from clients.xml as it is: a changed password, a secure flag, a removed client", async function () {
    writeClients(`  <Client name="nc-client" profile="appliance" password="${OWN}"/>\n`);
    const before = decisions();
    for (let i = 0; i < 3; i++) expect(ok(await call(false, "nc-client", OWN))).to.equal(true);
    expect(ok(await call(false, "nc-client", "labsecret"))).to.equal(true);
    expect(decisions()).to.equal(before + 4); // each new connection decided, none remembered
    writeClients(`  <Client name="nc-client" profile="appliance" password="${OTHER}"/>\n`);
    expect((await call(false, "nc-client", OWN)).status).to.equal(401);
    expect(ok(await call(false, "nc-client", OTHER))).to.equal(true);
    writeClients(`  <Client name="nc-client" profile="appliance" secure="true" password="${OTHER}"/>\n`);
    expect((await call(false, "nc-client", "labsecret")).status).to.equal(401);
    expect(ok(await call(false, "nc-client", OTHER))).to.equal(true);
    writeClients("");
    expect((await call(false, "nc-client", OTHER)).status).to.equal(401);
  });

  it("decides a different Authorization header on the connection afresh: a wrong password is refused and counted", async function () {
    const from = "127.0.0.23";
    const conn = connection();
    const first = await call(conn, "node1", "labsecret", from);
    expect(ok(first)).to.equal(true);
    const logBefore = readFileSync(site.logFile, "utf8").split('"msg":"authentication failed"').length;
    const wrong = await call(conn, "node1", "not-the-password", from);
    expect(wrong.status).to.equal(401);
    expect(readFileSync(site.logFile, "utf8").split('"msg":"authentication failed"').length).to.equal(logBefore + 1);
    // Nine more on fresh connections: the first wrong one counted, so the address is now locked out.
    for (let i = 0; i < 9; i++) expect((await call(false, "node1", `guess-${i}`, from)).status).to.equal(401);
    expect((await call(false, "node1", "labsecret", from)).headers["retry-after"]).to.equal("900");
  });

  it("refuses TLS renegotiation, so a connection's certificate cannot change after its authentication", async function () {
    const socket = tls.connect({ host: "127.0.0.1", port: site.server.port, rejectUnauthorized: false, maxVersion: "TLSv1.2" });
    await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
    const outcome = await new Promise<string>((resolve) => {
      socket.resume(); // the server's answer (400) is read, so that its close is seen
      socket.once("close", () => resolve("closed"));
      socket.once("error", () => resolve("closed"));
      socket.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err ? "closed" : "renegotiated"));
    });
    socket.destroy();
    expect(outcome).to.equal("closed");
  });
});
