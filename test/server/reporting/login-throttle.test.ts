// The admin login's rate limit, through the real HTTPS server (form, Basic on the pages, /metrics
// from a non-loopback address) with the throttle's clock moved by the test, and the throttle module
// itself for what one loopback server cannot show (the cap, IPv6 keys).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { pino } from "pino";
import { startServer, type StartedServer } from "../../../server/start-server.js";
import { throttleKey } from "../../../server/reporting/login-throttle.js";
import { createStoredLoginThrottle } from "../../../server/reporting/stored-login-throttle.js";
import { openStore } from "../../../server/store/open-store.js";
import type { Store } from "../../../server/store/store.js";
import { ADMIN_PASSWORD, makeSite, type HttpResult, type ReportSite } from "../../../harness/report-site.js";
import { formLogin, sendFrom } from "./login-client.js";

const MIN = 60_000;

describe("reporting admin login rate limit (real server)", function () {
  this.timeout(180_000);
  let site: ReportSite;
  let server: StartedServer;
  let clock = Date.parse("2026-03-01T12:00:00Z");

  before(async function () {
    site = makeSite();
    const logger = pino({ level: "info" }, pino.destination({ dest: join(site.dir, "server.log"), sync: true }));
    server = await startServer({ ...site.config, logger, reporting: { adminPassword: ADMIN_PASSWORD, loginThrottle: { now: () => clock } } });
  });

  after(async function () {
    await server?.close();
    site?.cleanup();
  });

  const send = (path: string, opts: Parameters<typeof sendFrom>[2] = {}): Promise<HttpResult> => sendFrom(`${server.url}${path}`, site.config.tls.ca, opts);
  const login = (password: string, from?: string): Promise<HttpResult> => formLogin(server.url, site.config.tls.ca, password, from);
  const basic = (password: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`admin:${password}`).toString("base64")}` });
  const sessionOf = (r: HttpResult): string => String(r.headers["set-cookie"]).split(";")[0];

  it("locks an address out after 5 wrong passwords: 429 with Retry-After, even for the right password", async function () {
    const ok = await login(ADMIN_PASSWORD);
    expect(ok.status).to.equal(303);
    const cookie = sessionOf(ok);
    for (let i = 0; i < 4; i++) {
      const r = await login(`wrong-${i}`);
      expect(r.status, `attempt ${i + 1}`).to.equal(401);
      expect(r.body).to.contain("Wrong user name or password");
    }
    const fifth = await login("wrong-4");
    expect(fifth.status).to.equal(429);
    expect(fifth.headers["retry-after"]).to.equal("900");
    expect(fifth.body).to.contain("Too many failed logins from your address");
    clock += 5 * MIN;
    const right = await login(ADMIN_PASSWORD);
    expect(right.status).to.equal(429);
    expect(right.headers["retry-after"]).to.equal("600");
    expect(right.headers["set-cookie"]).to.equal(undefined);
    expect(right.body).to.contain("even with the right password");
    // Basic credentials on a page are refused the same way; a session from before the lockout still works.
    const page = await send("/reports/", { headers: basic(ADMIN_PASSWORD) });
    expect(page.status).to.equal(429);
    expect(page.headers["retry-after"]).to.equal("600");
    expect(page.body).to.contain("Too many failed logins");
    expect((await send("/reports/", { headers: { Cookie: cookie } })).status).to.equal(200);
    expect(readFileSync(join(site.dir, "server.log"), "utf8")).to.match(/"lockoutSeconds":900.*locked out/);
  });

  it("leaves another address alone: 127.0.0.2 logs in, and /metrics there wants and takes the admin's Basic", async function () {
    const r = await login(ADMIN_PASSWORD, "127.0.0.2");
    expect(r.status).to.equal(303);
    expect(r.headers.location).to.equal("/reports/clients");
    expect((await send("/metrics", { from: "127.0.0.2" })).status).to.equal(401);
    expect((await send("/metrics", { from: "127.0.0.2", headers: basic(ADMIN_PASSWORD) })).status).to.equal(200);
    // Loopback itself scrapes without credentials, lockout or not.
    expect((await send("/metrics")).status).to.equal(200);
  });

  it("lets the lockout expire, doubles it for the next burst, and resets on a success", async function () {
    clock += 10 * MIN + 1000; // 15 min after the lockout began
    for (let i = 0; i < 4; i++) expect((await login(`again-${i}`)).status).to.equal(401);
    const second = await login("again-4");
    expect(second.status).to.equal(429);
    expect(second.headers["retry-after"]).to.equal("1800");
    clock += 30 * MIN;
    expect((await login(ADMIN_PASSWORD)).status).to.equal(303);
    // After the success the back-off starts over: 15 minutes again, not 60.
    for (let i = 0; i < 4; i++) expect((await login(`later-${i}`)).status).to.equal(401);
    const third = await login("later-4");
    expect(third.status).to.equal(429);
    expect(third.headers["retry-after"]).to.equal("900");
  });

  it("counts wrong Basic credentials on /metrics from a non-loopback address", async function () {
    for (let i = 0; i < 4; i++) expect((await send("/metrics", { from: "127.0.0.2", headers: basic(`nope-${i}`) })).status).to.equal(401);
    const fifth = await send("/metrics", { from: "127.0.0.2", headers: basic("nope-4") });
    expect(fifth.status).to.equal(429);
    expect(fifth.headers["retry-after"]).to.equal("900");
    const right = await send("/metrics", { from: "127.0.0.2", headers: basic(ADMIN_PASSWORD) });
    expect(right.status).to.equal(429);
    expect(right.body).not.to.contain("vacfg_");
    clock += 15 * MIN;
    expect((await send("/metrics", { from: "127.0.0.2", headers: basic(ADMIN_PASSWORD) })).status).to.equal(200);
  });
});

describe("login throttle keys and back-off (module, real SQLite store)", function () {
  let dir: string;
  let store: Store;
  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), "vacfg-login-keys-"));
    store = await openStore(`sqlite:${join(dir, "store.db")}`);
  });
  afterEach(async function () {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const wrong = (): boolean => false;

  it("keys IPv6 by /64 and IPv4-mapped addresses as IPv4", async function () {
    expect(throttleKey("2001:db8:1:2:aaaa::1")).to.equal("2001:db8:1:2::/64");
    expect(throttleKey("2001:db8:1:2::ffff")).to.equal("2001:db8:1:2::/64");
    expect(throttleKey("2001:db8::1")).to.equal("2001:db8:0:0::/64");
    expect(throttleKey("::1")).to.equal("0:0:0:0::/64");
    expect(throttleKey("::ffff:192.0.2.7")).to.equal("192.0.2.7");
    const th = createStoredLoginThrottle({ store, now: () => 0 });
    for (let i = 0; i < 5; i++) await th.attempt(`2001:db8:1:2::${i + 1}`, wrong);
    expect((await th.attempt("2001:db8:1:2:ffff::9", () => true)).kind).to.equal("locked");
    expect((await th.attempt("2001:db8:1:3::1", () => true)).kind).to.equal("ok");
  });

  it("doubles the lockout per burst up to an hour; failures spread wider than the window never lock", async function () {
    let t = 0;
    const th = createStoredLoginThrottle({ store, now: () => t });
    const burst = async (a: string): Promise<number> => {
      for (let i = 0; i < 5; i++) await th.attempt(a, wrong);
      const r = await th.attempt(a, () => true);
      return r.kind === "locked" ? r.retryAfterMs : 0;
    };
    const lockouts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const ms = await burst("192.0.2.1");
      lockouts.push(ms);
      t += ms;
    }
    expect(lockouts).to.deep.equal([15 * MIN, 30 * MIN, 60 * MIN, 60 * MIN]);
    for (let i = 0; i < 10; i++) {
      t += 4 * MIN;
      expect((await th.attempt("192.0.2.3", wrong)).kind).to.equal("wrong");
    }
  });
});
