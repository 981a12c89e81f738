// The one admin gate in front of /reports, /metrics and /api/v1 (the real workspace API), through two
// real servers over TLS on one SQLite file and on one real PostgreSQL, the clock moved by the test:
// one login limit for all three surfaces, state-changing calls refused from other origins and as
// form posts, and a logout that ends the session on every server at once.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { pino } from "pino";
import { writeSiteCa } from "../../../hypervisor/ctx/site-ca.js";
import { QemuDriver } from "../../../hypervisor/qemu/qemu-driver.js";
import { workspaceRouter } from "../../../hypervisor/workspace/api.js";
import { WorkspaceService } from "../../../hypervisor/workspace/service.js";
import { figure1Site } from "../../../demo/torque-appliance.js";
import { startServer, type StartedServer } from "../../../server/start-server.js";
import { SESSION_KIND } from "../../../server/reporting/admin-session.js";
import { openStore } from "../../../server/store/open-store.js";
import type { Store } from "../../../server/store/store.js";
import { sharedPostgres } from "../../../harness/postgres-server.js";
import { ADMIN_PASSWORD, makeSite, type HttpResult, type ReportSite } from "../../../harness/report-site.js";
import { basicAdmin, formLogin, sendFrom } from "./login-client.js";

const HOUR = 3600_000;

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`admin gate for /reports, /metrics and /api/v1: two servers on one ${backend} store`, function () {
    this.timeout(120_000);
    let site: ReportSite;
    let a: StartedServer;
    let b: StartedServer;
    let workspaceStore: Store;
    let clock = Date.parse("2026-03-01T12:00:00Z");

    before(async function () {
      const pgUrl = backend === "postgres" ? await (await sharedPostgres()).createDatabase() : undefined;
      site = makeSite(pgUrl);
      // A real workspace service with no appliances: lists, reaps and refuses deployments, boots nothing.
      const ws = join(site.dir, "workspace");
      mkdirSync(ws);
      workspaceStore = await openStore(`sqlite:${join(ws, "ws.db")}`);
      const service = new WorkspaceService({ store: workspaceStore, driver: new QemuDriver({ stateDir: join(ws, "q") }), site: figure1Site(writeSiteCa(join(ws, "ca"))), appliances: {}, stateDir: join(ws, "vms") });
      const logger = pino({ level: "info" }, pino.destination({ dest: join(site.dir, "server.log"), sync: true }));
      const start = (): Promise<StartedServer> =>
        startServer({ ...site.config, logger, reporting: { adminPassword: ADMIN_PASSWORD, loginThrottle: { now: () => clock } }, adminApis: { "/api/v1": workspaceRouter(service) } });
      a = await start();
      b = await start();
    });

    after(async function () {
      await Promise.all([a?.close(), b?.close()]);
      await workspaceStore?.close();
      site?.cleanup();
    });

    const send = (srv: StartedServer, path: string, o: Parameters<typeof sendFrom>[2] = {}): Promise<HttpResult> => sendFrom(`${srv.url}${path}`, site.config.tls.ca, o);
    const wrongBasic = (i: number): Record<string, string> => basicAdmin(`wrong-${i}`);
    const json = (r: HttpResult): { error?: { code: string }; [k: string]: unknown } => JSON.parse(r.body) as { error?: { code: string } };
    const cookieOf = (r: HttpResult): string => String(r.headers["set-cookie"]).split(";")[0];
    // The Host header the requests carry is the URL's, https://127.0.0.1:PORT.
    const origin = (srv: StartedServer): string => srv.url;
    const postJson = (srv: StartedServer, path: string, from: string, headers: Record<string, string>): Promise<HttpResult> =>
      send(srv, path, { from, method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: "{}" });

    it("limits guesses on /api/v1: 429 with Retry-After after 5, then the right password is refused there, on /reports and on /metrics", async function () {
      const from = "127.0.0.2";
      for (let i = 0; i < 4; i++) {
        const r = await send(i % 2 ? a : b, "/api/v1/vms", { from, headers: wrongBasic(i) });
        expect(r.status, `guess ${i + 1}`).to.equal(401);
        expect(json(r).error?.code).to.equal("AUTH_FAILED");
      }
      const fifth = await send(a, "/api/v1/vms", { from, headers: wrongBasic(4) });
      expect(fifth.status).to.equal(429);
      expect(fifth.headers["retry-after"]).to.equal("900");
      expect(json(fifth).error?.code).to.equal("ADMIN_LOCKED_OUT");
      for (let i = 5; i < 50; i++) expect((await send(b, "/api/v1/vms", { from, headers: wrongBasic(i) })).status).to.equal(429);
      for (const srv of [a, b]) {
        expect((await send(srv, "/api/v1/vms", { from, headers: basicAdmin() })).status).to.equal(429);
        expect((await send(srv, "/reports/", { from, headers: basicAdmin() })).status).to.equal(429);
        expect((await formLogin(srv.url, site.config.tls.ca, ADMIN_PASSWORD, from)).status).to.equal(429);
        const metrics = await send(srv, "/metrics", { from, headers: basicAdmin() });
        expect(metrics.status).to.equal(429);
        expect(metrics.body).not.to.contain("vacfg_");
      }
      // Another address is not concerned.
      const other = await send(b, "/api/v1/vms", { from: "127.0.0.3", headers: basicAdmin() });
      expect(other.status).to.equal(200);
      expect(json(other)).to.deep.equal({ vms: [] });
    });

    it("refuses the right password on /api/v1 while /reports has the address locked out", async function () {
      const from = "127.0.0.4";
      for (let i = 0; i < 5; i++) await formLogin(a.url, site.config.tls.ca, `wrong-${i}`, from);
      for (const srv of [a, b]) {
        const r = await send(srv, "/api/v1/vms", { from, headers: basicAdmin() });
        expect(r.status).to.equal(429);
        expect(json(r).error?.code).to.equal("ADMIN_LOCKED_OUT");
        expect(Number(r.headers["retry-after"])).to.be.within(1, 900);
      }
    });

    it("refuses state-changing calls from another origin (403) and as form posts (415); same-origin JSON and scripts pass", async function () {
      const from = "127.0.0.5";
      const admin = basicAdmin();
      const crossOrigin: Array<Record<string, string>> = [{ Origin: "https://evil.example" }, { Origin: "null" }, { Origin: `http://127.0.0.1:${a.port}` }, { Origin: `https://localhost:${a.port}` }, { Referer: "https://evil.example/page.html" }];
      for (const bad of crossOrigin) {
        const r = await postJson(a, "/api/v1/reap", from, { ...admin, ...bad });
        expect(r.status, JSON.stringify(bad)).to.equal(403);
        expect(json(r).error?.code).to.equal("CROSS_ORIGIN");
      }
      // What an HTML form can send: not JSON, whatever its origin says.
      const form = await send(a, "/api/v1/vms/x/destroy", { from, method: "POST", headers: { ...admin, "Content-Type": "application/x-www-form-urlencoded" }, body: "a=1" });
      expect(form.status).to.equal(415);
      expect(json(form).error?.code).to.equal("JSON_REQUIRED");
      expect((await send(a, "/api/v1/reap", { from, method: "POST", headers: { ...admin, "Content-Type": "text/plain" }, body: "{}" })).status).to.equal(415);
      // A refused request is no password guess: the address is not locked.
      const same = await postJson(a, "/api/v1/reap", from, { ...admin, Origin: origin(a) });
      expect(same.status).to.equal(200);
      expect(json(same)).to.deep.equal({ reaped: [] });
      expect((await postJson(b, "/api/v1/reap", from, { ...admin, Referer: `${origin(b)}/reports/` })).status).to.equal(200);
      expect((await postJson(b, "/api/v1/reap", from, admin)).status).to.equal(200);
      // Reading is not state-changing; a deployment request reaches the service only from the same origin.
      expect((await send(a, "/api/v1/vms", { from, headers: { ...admin, Origin: "https://evil.example" } })).status).to.equal(200);
      const deploy = await send(a, "/api/v1/deployments", { from, method: "POST", headers: { ...admin, "Content-Type": "application/json", Origin: origin(a) }, body: JSON.stringify({ name: "x", appliance: "none", instance: { count: 1 } }) });
      expect(deploy.status).to.equal(400);
      expect(json(deploy).error?.code).to.equal("WORKSPACE_REQUEST");
      // A session does not help another site either, and the login form itself is same-origin only.
      const login = await formLogin(a.url, site.config.tls.ca, ADMIN_PASSWORD, from);
      const cookie = cookieOf(login);
      expect((await postJson(a, "/api/v1/reap", from, { Cookie: cookie, Origin: "https://evil.example" })).status).to.equal(403);
      expect((await postJson(a, "/api/v1/reap", from, { Cookie: cookie, Origin: origin(a) })).status).to.equal(200);
      const body = new URLSearchParams({ user: "admin", password: ADMIN_PASSWORD, next: "/" }).toString();
      const crossLogin = await send(a, "/reports/login", { from, method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "https://evil.example" }, body });
      expect(crossLogin.status).to.equal(403);
      expect(crossLogin.headers["set-cookie"]).to.equal(undefined);
      const crossLogout = await send(a, "/reports/logout", { from, method: "POST", headers: { Cookie: cookie, Origin: "https://evil.example" } });
      expect(crossLogout.status).to.equal(403);
      expect((await send(b, "/reports/", { from, headers: { Cookie: cookie } })).status).to.equal(200);
    });

    it("ends a session on every server at logout: the old cookie is refused at once on /reports, /api/v1 and /metrics", async function () {
      const from = "127.0.0.6";
      const login = await formLogin(a.url, site.config.tls.ca, ADMIN_PASSWORD, from);
      expect(login.status).to.equal(303);
      expect(String(login.headers["set-cookie"])).to.match(/; Path=\/; HttpOnly; Secure; SameSite=Strict/);
      const cookie = cookieOf(login);
      for (const srv of [a, b]) {
        expect((await send(srv, "/reports/", { from, headers: { Cookie: cookie } })).status).to.equal(200);
        expect((await send(srv, "/api/v1/vms", { from, headers: { Cookie: cookie } })).status).to.equal(200);
        expect((await send(srv, "/metrics", { from, headers: { Cookie: cookie } })).status).to.equal(200);
      }
      const out = await send(b, "/reports/logout", { from, method: "POST", headers: { Cookie: cookie, Origin: origin(b) } });
      expect(out.status).to.equal(303);
      expect(String(out.headers["set-cookie"])).to.match(/Max-Age=0/);
      for (const srv of [a, b]) {
        const page = await send(srv, "/reports/", { from, headers: { Cookie: cookie } });
        expect(page.status).to.equal(303);
        expect(page.headers.location).to.match(/\/reports\/login/);
        expect((await send(srv, "/api/v1/vms", { from, headers: { Cookie: cookie } })).status).to.equal(401);
        expect((await send(srv, "/metrics", { from, headers: { Cookie: cookie } })).status).to.equal(401);
      }
      // Sessions expire after 12 hours, and an expired one is deleted when the next one opens.
      const second = cookieOf(await formLogin(a.url, site.config.tls.ca, ADMIN_PASSWORD, from));
      expect((await send(b, "/reports/", { from, headers: { Cookie: second } })).status).to.equal(200);
      clock += 12 * HOUR;
      expect((await send(b, "/reports/", { from, headers: { Cookie: second } })).status).to.equal(303);
      const store = await openStore(site.config.storeUrl);
      try {
        const before = (await store.list(SESSION_KIND)).length;
        expect((await formLogin(b.url, site.config.tls.ca, ADMIN_PASSWORD, from)).status).to.equal(303);
        const after = await store.list(SESSION_KIND);
        expect(before).to.be.at.least(2);
        expect(after).to.have.length(1);
      } finally {
        await store.close();
      }
    });
  });
}
