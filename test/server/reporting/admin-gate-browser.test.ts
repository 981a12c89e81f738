// Cross-site request forgery against the admin gate in real headless Chromium: a page on another
// origin (plain HTTP on 127.0.0.9) submits forms to /api/v1 and /reports while the browser holds the
// admin's Basic credentials (puppeteer answers the 401 challenge with them, as a browser that has
// them cached would). The gate refuses each with 403 before any credential is looked at.
import { createServer, type Server } from "node:http";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { pino } from "pino";
import type { Page } from "puppeteer-core";
import { writeSiteCa } from "../../../hypervisor/ctx/site-ca.js";
import { QemuDriver } from "../../../hypervisor/qemu/qemu-driver.js";
import { workspaceRouter } from "../../../hypervisor/workspace/api.js";
import { WorkspaceService } from "../../../hypervisor/workspace/service.js";
import { figure1Site } from "../../../demo/torque-appliance.js";
import { startServer, type StartedServer } from "../../../server/start-server.js";
import { openStore } from "../../../server/store/open-store.js";
import type { Store } from "../../../server/store/store.js";
import { ADMIN_PASSWORD, makeSite, type ReportSite } from "../../../harness/report-site.js";
import { launchChromium, type HeadlessBrowser } from "./browser.js";

describe("admin gate against cross-site forms (headless Chromium, real server)", function () {
  this.timeout(120_000);
  let site: ReportSite;
  let server: StartedServer;
  let workspaceStore: Store;
  let evil: Server;
  let evilUrl: string;
  let chromium: HeadlessBrowser;
  let page: Page;

  before(async function () {
    site = makeSite();
    const ws = join(site.dir, "workspace");
    mkdirSync(ws);
    workspaceStore = await openStore(`sqlite:${join(ws, "ws.db")}`);
    const service = new WorkspaceService({ store: workspaceStore, driver: new QemuDriver({ stateDir: join(ws, "q") }), site: figure1Site(writeSiteCa(join(ws, "ca"))), appliances: {}, stateDir: join(ws, "vms") });
    server = await startServer({ ...site.config, logger: pino({ level: "silent" }), reporting: { adminPassword: ADMIN_PASSWORD }, adminApis: { "/api/v1": workspaceRouter(service) } });
    // The attacker's page: forms that post as soon as they are opened (text/plain shaped like JSON, and urlencoded).
    evil = createServer((req, res) => {
      const target = new URL(req.url ?? "/", "http://x").searchParams.get("to") ?? "";
      const enctype = new URL(req.url ?? "/", "http://x").searchParams.get("enctype") ?? "application/x-www-form-urlencoded";
      res.setHeader("Content-Type", "text/html");
      res.end(`<!doctype html><form method="post" action="${server.url}${target}" enctype="${enctype}"><input name='{"ttlSeconds":1,"x":"' value='"}'></form><script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.9", resolve));
    const addr = evil.address();
    evilUrl = `http://127.0.0.9:${typeof addr === "object" && addr ? addr.port : 0}`;
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
    await page.authenticate({ username: "admin", password: ADMIN_PASSWORD });
  });

  after(async function () {
    await chromium?.close();
    await new Promise((resolve) => evil?.close(resolve));
    await server?.close();
    await workspaceStore?.close();
    site?.cleanup();
  });

  /** Opens the attacker's page and waits for the form's answer from our server. */
  async function forged(to: string, enctype: string): Promise<{ status: number; body: string }> {
    const answer = page.waitForResponse((r) => r.url().startsWith(server.url) && r.request().method() === "POST");
    await page.goto(`${evilUrl}/?to=${encodeURIComponent(to)}&enctype=${encodeURIComponent(enctype)}`);
    const r = await answer;
    return { status: r.status(), body: await r.text().catch(() => "") };
  }

  it("the browser's credentials work on the API from its own origin", async function () {
    const r = await page.goto(`${server.url}/api/v1/vms`);
    expect(r?.status()).to.equal(200);
    expect(await page.evaluate(() => document.body.innerText)).to.contain('"vms"');
  });

  it("refuses a form another site posts to the API (text/plain shaped as JSON, and urlencoded) with 403", async function () {
    for (const enctype of ["text/plain", "application/x-www-form-urlencoded"]) {
      const r = await forged("/api/v1/reap", enctype);
      expect(r.status, enctype).to.equal(403);
      expect(r.body).to.contain("CROSS_ORIGIN");
    }
  });

  it("refuses a login form another site posts to /reports with 403, and sets no cookie", async function () {
    const r = await forged("/reports/login", "application/x-www-form-urlencoded");
    expect(r.status).to.equal(403);
    expect((await page.cookies(server.url)).map((c) => c.name)).not.to.include("vacfg_admin");
  });
});
