// XML-RPC password guessing is limited per source address and per client name, in the store (two
// servers on one SQLite file and on one real PostgreSQL, the clock moved by the test): a burst of
// wrong passwords gets a handful of checks, then even the right password is refused with 401 and
// Retry-After, while a legitimate client from another address carries on; the real Python client
// fails cleanly while its address is locked out and runs again once the lockout ends.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { pino } from "pino";
import { parseMethodResponse } from "../../../protocol/xmlrpc/parser.js";
import { serializeMethodCall } from "../../../protocol/xmlrpc/serializer.js";
import { startServer, type StartedServer } from "../../../server/start-server.js";
import { sharedPostgres } from "../../../harness/postgres-server.js";
import { makeSite, request, SITE_PASSWORD, writeFiles, type HttpResult, type ReportSite } from "../../../harness/report-site.js";
import { ensureUpstreamInstalled, runRealClient } from "../../support/upstream-bcfg2.js";

const MIN = 60_000;
const SECURE_PASSWORD = "secure1-own-password";

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`XML-RPC authentication limit: two servers on one ${backend} store`, function () {
    this.timeout(180_000);
    let site: ReportSite;
    let a: StartedServer;
    let b: StartedServer;
    let logFile: string;
    let clock = Date.parse("2026-03-01T12:00:00Z");

    before(async function () {
      const pgUrl = backend === "postgres" ? await (await sharedPostgres()).createDatabase() : undefined;
      site = makeSite(pgUrl);
      writeFiles(site.config.settings.repo, {
        "Metadata/clients.xml": `<Clients>\n  <Client name="secure1" profile="appliance" secure="true" password="${SECURE_PASSWORD}"/>\n</Clients>\n`,
      });
      logFile = join(site.dir, "server.log");
      const logger = pino({ level: "info" }, pino.destination({ dest: logFile, sync: true }));
      const start = (): Promise<StartedServer> => startServer({ ...site.config, logger, clientAuthLimit: { now: () => clock } });
      a = await start();
      b = await start();
    });

    after(async function () {
      await Promise.all([a?.close(), b?.close()]);
      site?.cleanup();
    });

    /** One XML-RPC call (DeclareVersion) as `user`, from a loopback source address, on a fresh connection. */
    const call = (srv: StartedServer, user: string, password: string, from: string): Promise<HttpResult> =>
      request(`${srv.url}/RPC2`, site.config.tls.ca, {
        method: "POST",
        agent: false,
        from,
        headers: { "Content-Type": "text/xml", Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` },
        body: serializeMethodCall({ methodName: "DeclareVersion", params: ["1.4.0"] }),
      });
    const accepted = (r: HttpResult): boolean => r.status === 200 && parseMethodResponse(r.body).kind === "result";
    const checksLogged = (): number => readFileSync(logFile, "utf8").split("\n").filter((l) => l.includes('"msg":"authentication failed"')).length;

    it("gives 200 parallel wrong passwords from one address 10 checks, then refuses the right one with 401 and Retry-After; another address is unaffected", async function () {
      const before = checksLogged();
      const guesses = await Promise.all(Array.from({ length: 200 }, (_, i) => call(a, "node1", `guess-${i}`, "127.0.0.2")));
      expect(guesses.every((r) => r.status === 401)).to.equal(true);
      // 10 were checked: 9 answered as wrong passwords, the 10th started the lockout; the other 190 were
      // refused unchecked. B knows of the lockout from the store.
      expect(checksLogged() - before).to.equal(9);
      expect(guesses.filter((r) => r.headers["retry-after"] === undefined)).to.have.length(9);
      for (const srv of [a, b]) {
        const right = await call(srv, "node1", SITE_PASSWORD, "127.0.0.2");
        expect(right.status).to.equal(401);
        expect(right.headers["retry-after"]).to.equal("900");
      }
      // The same client from another address, and a new one, are served.
      expect(accepted(await call(a, "node1", SITE_PASSWORD, "127.0.0.3"))).to.equal(true);
      expect(accepted(await call(b, "node9", SITE_PASSWORD, "127.0.0.3"))).to.equal(true);
      expect(readFileSync(logFile, "utf8")).to.match(/XML-RPC authentication locked out for this address/);
      clock += 15 * MIN;
      expect(accepted(await call(b, "node1", SITE_PASSWORD, "127.0.0.2"))).to.equal(true);
    });

    it("locks a client name guessed at from many addresses, except from addresses it authenticated from", async function () {
      expect(accepted(await call(a, "secure1", SECURE_PASSWORD, "127.0.0.4"))).to.equal(true);
      // 3 wrong passwords from each of 7 addresses: no address reaches its limit, the name does (20).
      for (let i = 0; i < 7; i++) for (let j = 0; j < 3; j++) await call(j % 2 ? a : b, "Secure1", `guess-${i}-${j}`, `127.0.1.${i + 1}`);
      const fresh = await call(a, "secure1", SECURE_PASSWORD, "127.0.2.1");
      expect(fresh.status).to.equal(401);
      expect(Number(fresh.headers["retry-after"])).to.be.within(1, 900);
      // The client's own address still gets in; so does another client from the same new address.
      expect(accepted(await call(b, "secure1", SECURE_PASSWORD, "127.0.0.4"))).to.equal(true);
      expect(accepted(await call(b, "node2", SITE_PASSWORD, "127.0.2.1"))).to.equal(true);
      expect(readFileSync(logFile, "utf8")).to.match(/XML-RPC authentication locked out for this client name/);
      clock += 15 * MIN;
      expect(accepted(await call(a, "secure1", SECURE_PASSWORD, "127.0.2.1"))).to.equal(true);
    });

    // One backend shows it: the store's part is the same as above.
    if (backend === "sqlite") it("the real Python client fails cleanly (401, after its retries) while its address is locked out, and runs once it ends", async function () {
      if (!ensureUpstreamInstalled()) throw new Error("upstream Bcfg2 client not installed (test/support/upstream-bcfg2.ts)");
      for (let i = 0; i < 10; i++) await call(a, "node3", `guess-${i}`, "127.0.0.1");
      const locked = await runRealClient(a.url, "node3", SITE_PASSWORD);
      expect(locked.status, locked.output).to.equal(1);
      expect(locked.output).to.match(/401/);
      clock += 15 * MIN;
      const ok = await runRealClient(b.url, "node3", SITE_PASSWORD);
      expect(ok.status, ok.output).to.equal(0);
    });
  });
}
