// The reporting web UI in real headless Chromium against the real HTTPS server: login is required,
// every page renders and links work, a dirty client from a real agent run shows its bad entry and
// diff, client-sent text is escaped, and "as of" shows the past.
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import type { Page } from "puppeteer-core";
import type { StartedServer } from "../../../server/start-server.js";
import { launchChromium, type HeadlessBrowser } from "./browser.js";
import { ADMIN_PASSWORD, makeSite, request, SITE_PASSWORD, startSiteServer, statsDocument, xmlrpc, type ReportSite } from "../../../harness/report-site.js";
import { addShell } from "../../../agent/image-root.js";
import { AGENT_MAIN } from "../../agent/fixtures.js";

/** Runs the real agent (dry run) for `client` into a sandbox root; resolves with its exit code and output. */
function runAgent(site: ReportSite, url: string, client: string, root: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    // An empty agent config: everything comes from the command line, nothing from the host's /etc.
    const conf = join(site.dir, `agent-${client}.conf`);
    writeFileSync(conf, "");
    const p = spawn(process.execPath, [AGENT_MAIN, "-C", conf, "-S", url, "-u", client, "-x", SITE_PASSWORD, "--ca", site.caFile, "--root", root, "-n", "-R", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    p.stdout.on("data", (c: Buffer) => (out += c.toString()));
    p.stderr.on("data", (c: Buffer) => (out += c.toString()));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}

describe("reporting web UI (headless Chromium, real server)", function () {
  this.timeout(180_000);
  let site: ReportSite;
  let server: StartedServer;
  let chromium: HeadlessBrowser;
  let page: Page;
  let beforeSecondRun: string;
  const ca = (): string => site.config.tls.ca;

  before(async function () {
    site = makeSite();
    server = await startSiteServer(site);
    // A real agent run: node0's /etc/motd differs from the repository's, so the run is dirty.
    // The repository's probes run chrooted into the root, so it carries a shell and a /tmp.
    const root = join(site.dir, "root-node0");
    mkdirSync(join(root, "etc"), { recursive: true });
    mkdirSync(join(root, "tmp"), { mode: 0o1777 });
    addShell(root);
    writeFileSync(join(root, "etc/motd"), "an old motd\n");
    const agent = await runAgent(site, server.url, "node0", root);
    expect(agent.code, agent.out).to.equal(0);
    beforeSecondRun = new Date(Date.now() + 1).toISOString();
    await new Promise((r) => setTimeout(r, 20));
    // Two more clients over the real HTTPS server: one clean, one with the same bad entry and a hostile name.
    await xmlrpc(server.url, ca(), "node1", SITE_PASSWORD, "DeclareVersion", ["1.4.0"]);
    await xmlrpc(server.url, ca(), "node1", SITE_PASSWORD, "RecvStats", [statsDocument("clean")]);
    await xmlrpc(server.url, ca(), "node2", SITE_PASSWORD, "RecvStats", [statsDocument("dirty", { extraPkg: "<img src=x onerror=alert(1)>" })]);
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
  });

  after(async function () {
    await chromium?.close();
    await server?.close();
    site?.cleanup();
  });

  async function text(sel: string): Promise<string> {
    return page.$eval(sel, (e) => (e as HTMLElement).innerText);
  }

  it("requires the admin login and refuses a wrong password", async function () {
    const r = await request(`${server.url}/reports/clients`, ca());
    expect(r.status).to.equal(303);
    expect(r.headers.location).to.equal("/reports/login?next=%2Fclients");
    await page.goto(`${server.url}/reports/clients`);
    expect(new URL(page.url()).pathname).to.equal("/reports/login");
    await page.type("input[name=password]", "wrong password");
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    expect(await text(".error")).to.contain("Wrong user name or password");
    await page.type("input[name=password]", ADMIN_PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click("form.login button[type=submit]")]);
    // Back where the login started.
    expect(new URL(page.url()).pathname).to.equal("/reports/clients");
  });

  it("summarizes clean, bad and extra clients", async function () {
    await page.goto(`${server.url}/reports/`);
    expect(await text("#n-clean")).to.equal("1");
    expect(await text("#n-bad")).to.equal("2");
    expect(await text("#n-extra")).to.equal("1");
    expect(await text("#n-stale")).to.equal("0");
  });

  it("links from the grid to a client whose real agent run shows its bad entry and diff", async function () {
    await page.goto(`${server.url}/reports/clients`);
    const rows = await page.$$eval("#clients tbody tr", (trs) => trs.map((tr) => (tr as HTMLElement).innerText));
    expect(rows.join("\n")).to.match(/node0\s+appliance\s+bad/);
    expect(rows.join("\n")).to.match(/node1\s+appliance\s+clean/);
    await Promise.all([page.waitForNavigation(), page.click("#clients a[href^='/reports/client/node0']")]);
    expect(await text("h1")).to.match(/^node0\s+bad/);
    const bad = await text("section.entries-bad");
    expect(bad).to.contain("/etc/motd");
    const diff = await text("section.entries-bad pre.diff");
    expect(diff).to.contain("-an old motd");
    expect(diff).to.contain("+Welcome to the managed appliance.");
    const shot = join(site.dir, "client-node0.png");
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.VACFG_SCREENSHOT) copyFileSync(shot, process.env.VACFG_SCREENSHOT);
  });

  it("escapes what clients send", async function () {
    await page.goto(`${server.url}/reports/entries/extra`);
    expect(await text("#entries")).to.contain("<img src=x onerror=alert(1)>");
    expect(await page.$$eval("#entries img, script", (els) => els.length)).to.equal(0);
  });

  it("lists entries bad on several clients as common problems, and run timings", async function () {
    await page.goto(`${server.url}/reports/common`);
    expect(await text("#common tbody")).to.match(/bad\s+Path\s+\/etc\/motd\s+2: node0, node2/);
    await page.goto(`${server.url}/reports/timings`);
    const t = await text("#timings");
    expect(t).to.contain("config_download");
    expect(t).to.contain("node2");
  });

  it("shows the state as of a past time, and keeps it on links", async function () {
    await page.goto(`${server.url}/reports/clients?as_of=${encodeURIComponent(beforeSecondRun)}`);
    const grid = await text("#clients tbody");
    expect(grid).to.contain("node0");
    expect(grid).not.to.contain("node2");
    const href = await page.$eval("nav a[href*='entries/bad']", (a) => a.getAttribute("href"));
    expect(href).to.contain("as_of=");
    await page.goto(`${server.url}/reports/?as_of=1970-01-02T00:00:00Z`);
    expect(await text("#n-bad")).to.equal("0");
  });

  it("answers a malformed as_of with 400 and the reason", async function () {
    const resp = await page.goto(`${server.url}/reports/?as_of=%3Cscript%3E`);
    expect(resp?.status()).to.equal(400);
    expect(await text(".error")).to.contain('"<script>" is not an ISO 8601 time');
  });

  it("logs out", async function () {
    await page.goto(`${server.url}/reports/`);
    await Promise.all([page.waitForNavigation(), page.click("form.logout button")]);
    await page.goto(`${server.url}/reports/`);
    expect(new URL(page.url()).pathname).to.equal("/reports/login");
  });

  it("serves /metrics with requests per method, GetConfig times and clients by state", async function () {
    const r = await request(`${server.url}/metrics`, ca());
    expect(r.status).to.equal(200);
    expect(r.headers["content-type"]).to.match(/^text\/plain; version=0\.0\.4/);
    expect(r.body).to.match(/^vacfg_xmlrpc_requests_total\{method="RecvStats",status="200"\} 3$/m);
    expect(r.body).to.match(/^vacfg_getconfig_seconds_count 1$/m);
    expect(r.body).to.match(/^vacfg_clients\{state="bad"\} 2$/m);
    expect(r.body).to.match(/^vacfg_clients\{state="clean"\} 1$/m);
    await xmlrpc(server.url, ca(), "node1", SITE_PASSWORD, "NoSuchMethod").catch(() => undefined);
    const after = await request(`${server.url}/metrics`, ca());
    expect(after.body).to.match(/^vacfg_xmlrpc_errors_total\{kind="fault",code="-32601"\} 1$/m);
  });
});
