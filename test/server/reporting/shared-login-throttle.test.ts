// The admin login limit shared through the store: two servers in one process (each with its own
// in-process front, the clock moved by the test) on one SQLite file and on one real PostgreSQL, and
// the stored throttle itself on a real SQLite store for the bound, the clean-up and a closed store.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { pino } from "pino";
import { startServer, type StartedServer } from "../../../server/start-server.js";
import { openStore } from "../../../server/store/open-store.js";
import type { Store } from "../../../server/store/store.js";
import { createStoredLoginThrottle, LOGIN_INDEX_KIND } from "../../../server/reporting/stored-login-throttle.js";
import { sharedPostgres } from "../../../harness/postgres-server.js";
import { ADMIN_PASSWORD, makeSite, type ReportSite } from "../../../harness/report-site.js";
import { basicAdmin, formLogin, sendFrom } from "./login-client.js";

const MIN = 60_000;

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`shared admin login limit: two servers in one process on one ${backend} store`, function () {
    this.timeout(120_000);
    let site: ReportSite;
    let a: StartedServer;
    let b: StartedServer;
    let storeUrl: string;
    let clock = Date.parse("2026-03-01T12:00:00Z");

    before(async function () {
      const pgUrl = backend === "postgres" ? await (await sharedPostgres()).createDatabase() : undefined;
      site = makeSite(pgUrl);
      storeUrl = site.config.storeUrl;
      const logger = pino({ level: "info" }, pino.destination({ dest: join(site.dir, "server.log"), sync: true }));
      const start = (): Promise<StartedServer> => startServer({ ...site.config, logger, reporting: { adminPassword: ADMIN_PASSWORD, loginThrottle: { now: () => clock } } });
      a = await start();
      b = await start();
    });

    after(async function () {
      await Promise.all([a?.close(), b?.close()]);
      site?.cleanup();
    });

    const login = (srv: StartedServer, password: string) => formLogin(srv.url, site.config.tls.ca, password);
    async function storedRecords(): Promise<{ index: string[]; records: string[] }> {
      const store = await openStore(storeUrl);
      try {
        return { index: (await store.list(LOGIN_INDEX_KIND)).map((r) => r.key), records: (await store.list(`${LOGIN_INDEX_KIND}/127.0.0.1`)).map((r) => r.key) };
      } finally {
        await store.close();
      }
    }

    it("adds up failures through both: 3 on A and 2 on B lock the address on both", async function () {
      for (let i = 0; i < 3; i++) expect((await login(a, `a-${i}`)).status, `A attempt ${i + 1}`).to.equal(401);
      expect((await login(b, "b-0")).status).to.equal(401);
      const fifth = await login(b, "b-1");
      expect(fifth.status).to.equal(429);
      expect(fifth.headers["retry-after"]).to.equal("900");
      clock += MIN;
      // A made only 3 of the failures itself: it learns the lockout from the store.
      const onA = await login(a, ADMIN_PASSWORD);
      expect(onA.status).to.equal(429);
      expect(onA.headers["retry-after"]).to.equal("840");
      expect(onA.headers["set-cookie"]).to.equal(undefined);
      expect((await login(b, ADMIN_PASSWORD)).status).to.equal(429);
      const page = await sendFrom(`${a.url}/reports/`, site.config.tls.ca, { headers: basicAdmin() });
      expect(page.status).to.equal(429);
      expect(page.headers["retry-after"]).to.equal("840");
      const s = await storedRecords();
      expect(s.records.filter((k) => k.startsWith("f:"))).to.have.length(5);
      expect(s.records).to.include("l:0");
      expect(s.index).to.include("127.0.0.1");
    });

    it("lets the lockout expire for both, and the next burst through either doubles it", async function () {
      clock += 14 * MIN;
      for (let i = 0; i < 2; i++) expect((await login(a, `again-a-${i}`)).status).to.equal(401);
      for (let i = 0; i < 2; i++) expect((await login(b, `again-b-${i}`)).status).to.equal(401);
      const second = await login(a, "again-a-2");
      expect(second.status).to.equal(429);
      expect(second.headers["retry-after"]).to.equal("1800");
      expect((await login(b, ADMIN_PASSWORD)).headers["retry-after"]).to.equal("1800");
      clock += 30 * MIN;
      expect((await login(a, ADMIN_PASSWORD)).status).to.equal(303);
      expect((await login(b, ADMIN_PASSWORD)).status).to.equal(303);
      // The success cleared what the store held for the address.
      const s = await storedRecords();
      expect(s.records).to.deep.equal([]);
      expect(s.index).not.to.include("127.0.0.1");
    });

    it("clears the count for both on a success through B, back-off included", async function () {
      for (let i = 0; i < 2; i++) expect((await login(a, `c-a-${i}`)).status).to.equal(401);
      for (let i = 0; i < 2; i++) expect((await login(b, `c-b-${i}`)).status).to.equal(401);
      expect((await login(b, ADMIN_PASSWORD)).status).to.equal(303);
      // Without the clear, A's next wrong password would be the 5th.
      for (let i = 0; i < 4; i++) expect((await login(a, `d-a-${i}`)).status, `A attempt ${i + 1} after the success`).to.equal(401);
      const fifth = await login(b, "d-b-0");
      expect(fifth.status).to.equal(429);
      expect(fifth.headers["retry-after"]).to.equal("900");
      expect(readFileSync(join(site.dir, "server.log"), "utf8")).to.match(/"lockoutSeconds":900.*locked out/);
    });
  });
}

describe("stored login throttle (module, real SQLite store)", function () {
  let dir: string;
  let store: Store;
  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), "vacfg-login-throttle-"));
    store = await openStore(`sqlite:${join(dir, "store.db")}`);
  });
  afterEach(async function () {
    await store.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  const wrong = (): boolean => false;

  it("checks at most 5 passwords of a parallel burst to one process, and 5 per process over two", async function () {
    const t = 0;
    const one = createStoredLoginThrottle({ store, now: () => t });
    let checks = 0;
    const r = await Promise.all(Array.from({ length: 20 }, () => one.attempt("192.0.2.1", () => (checks++, false))));
    expect(checks).to.equal(5);
    expect(r.filter((x) => x.kind === "wrong")).to.have.length(4);
    expect(r.filter((x) => x.kind === "locked")).to.have.length(16);
    // Two fronts whose reads all happen before either stores a failure: each checks at most 5 (the
    // documented worst case of a burst timed across processes), and the address ends up locked.
    const [p, q] = [createStoredLoginThrottle({ store, now: () => t }), createStoredLoginThrottle({ store, now: () => t })];
    checks = 0;
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? p : q).attempt("192.0.2.2", () => (checks++, false))));
    expect(checks).to.be.at.most(10);
    expect((await p.attempt("192.0.2.2", () => true)).kind).to.equal("locked");
    expect((await createStoredLoginThrottle({ store, now: () => t }).attempt("192.0.2.2", () => true)).kind).to.equal("locked");
  });

  it("forgets an address quiet for longer than the maximum lockout when next touched", async function () {
    let t = 0;
    const th = createStoredLoginThrottle({ store, now: () => t });
    for (let i = 0; i < 3; i++) await th.attempt("198.51.100.7", wrong);
    expect(await store.list(`${LOGIN_INDEX_KIND}/198.51.100.7`)).to.have.length(3);
    t += 61 * MIN;
    expect((await th.attempt("198.51.100.7", wrong)).kind).to.equal("wrong");
    const left = (await store.list(`${LOGIN_INDEX_KIND}/198.51.100.7`)).map((r) => r.key);
    expect(left).to.have.length(1);
    expect(left[0]).to.match(new RegExp(`^f:${t}:`));
  });

  it("keeps at most maxAddresses in the store under a spray of addresses, sweeping quiet ones", async function () {
    let t = 0;
    const th = createStoredLoginThrottle({ store, now: () => t, maxAddresses: 50 });
    for (let i = 0; i < 5; i++) await th.attempt("203.0.113.1", wrong);
    for (let i = 0; i < 300; i++) await th.attempt(`10.1.${i >> 8}.${i & 255}`, wrong);
    const index = await store.list(LOGIN_INDEX_KIND);
    expect(index.length).to.be.at.most(50);
    // The evicted addresses' failures went with them.
    expect(await store.list(`${LOGIN_INDEX_KIND}/10.1.0.0`)).to.deep.equal([]);
    // A locked address counts as active until its lockout ends, so it outlives mere failures.
    expect((await store.list(`${LOGIN_INDEX_KIND}/203.0.113.1`)).map((r) => r.key)).to.include("l:0");
    expect(await store.list(`${LOGIN_INDEX_KIND}/10.1.1.43`)).to.have.length(1);
    // Two hours later the next sweep deletes every quiet address.
    t += 120 * MIN;
    await th.attempt("10.9.9.9", wrong);
    expect((await store.list(LOGIN_INDEX_KIND)).map((r) => r.key)).to.deep.equal(["10.9.9.9"]);
    expect(await store.list(`${LOGIN_INDEX_KIND}/10.1.1.43`)).to.deep.equal([]);
    expect(await store.list(`${LOGIN_INDEX_KIND}/203.0.113.1`)).to.deep.equal([]);
  });

  it("with cleanForMs, trusts a clean read that long: another process's lockout is seen once it has passed", async function () {
    let t = 0;
    const opts = { store, now: () => t, cleanForMs: 1000, successClears: false };
    const [p, q] = [createStoredLoginThrottle(opts), createStoredLoginThrottle(opts)];
    expect((await q.attempt("192.0.2.20", () => true)).kind).to.equal("ok"); // q: the store is clean
    for (let i = 0; i < 5; i++) await p.attempt("192.0.2.20", wrong);
    expect((await p.attempt("192.0.2.20", () => true)).kind).to.equal("locked");
    t += 500;
    expect((await q.attempt("192.0.2.20", () => true)).kind).to.equal("ok"); // within the second: not read yet
    t += 500;
    expect((await q.attempt("192.0.2.20", () => true)).kind).to.equal("locked");
    // A failure of its own makes a process read the store again on the next attempt: 4 on p + 1 on q lock.
    expect((await q.attempt("192.0.2.21", () => true)).kind).to.equal("ok");
    for (let i = 0; i < 4; i++) await p.attempt("192.0.2.21", wrong);
    expect((await q.attempt("192.0.2.21", wrong)).kind).to.equal("wrong");
    expect((await q.attempt("192.0.2.21", () => true)).kind).to.equal("locked");
  });

  it("refuses without checking the password when the store cannot be read (fail closed)", async function () {
    const th = createStoredLoginThrottle({ store, now: () => 0 });
    await store.close();
    let checked = false;
    expect(await th.attempt("192.0.2.9", () => (checked = true))).to.deep.equal({ kind: "unavailable" });
    expect(checked).to.equal(false);
  });
});
