// The reports' charts, group and bundle views and a client's entry timeline, in real headless
// Chromium with JavaScript disabled, against the real HTTPS server on SQLite and on PostgreSQL (each
// engine reads the charts with its own SQL, server/store/store-sql-pg.ts). Runs are
// placed at known times before a fixed as-of time, so each chart has a known number of points with
// known values; the checks read what the page shows (axis labels, points, tooltips, the numbers
// table, where a point sits against its axis), never pixels.
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import type { Page } from "puppeteer-core";
import type { StartedServer } from "../../../server/start-server.js";
import type { RunRecord, Store } from "../../../server/store/store.js";
import { openStore } from "../../../server/store/open-store.js";
import { sharedPostgres } from "../../../harness/postgres-server.js";
import { launchChromium, type HeadlessBrowser } from "./browser.js";
import { ADMIN_PASSWORD, makeSite, SITE_PASSWORD, startSiteServer, statsDocument, xmlrpc, type ReportSite } from "../../../harness/report-site.js";

const HOUR = 3_600_000;

/** A run at `at` with the given problems and a run time of `seconds` (no OpStamps span: no duration). */
function run(client: string, at: number, o: { bad?: string[]; modified?: string[]; seconds?: number; groups?: string[]; bundles?: string[] } = {}): RunRecord {
  const bad = o.bad ?? [];
  const modified = o.modified ?? [];
  const t0 = at / 1000 - 60;
  return {
    client,
    timestamp: at,
    state: bad.length || modified.length ? "dirty" : "clean",
    total: 5,
    good: 5 - bad.length - modified.length,
    bad: bad.length,
    modified: modified.length,
    extra: 0,
    revision: "r1",
    dryRun: false,
    flags: {},
    timings: o.seconds === undefined ? { start: t0 } : { start: t0, config_download: t0 + o.seconds / 2, finished: t0 + o.seconds },
    entries: [
      ...bad.map((name) => ({ kind: "bad" as const, tag: "Path", name, attrs: { type: "file" } })),
      ...modified.map((name) => ({ kind: "modified" as const, tag: "Service", name, attrs: {} })),
    ],
    ...(o.groups ? { groups: o.groups } : {}),
    ...(o.bundles ? { bundles: o.bundles } : {}),
  };
}

const ENGINES: Array<[string, () => Promise<string | undefined>]> = [
  ["SQLite", async () => undefined],
  ["PostgreSQL", async () => (await sharedPostgres()).createDatabase()],
];

for (const [engine, storeUrl] of ENGINES) describe(`reporting charts, group and bundle views, entry timeline (headless Chromium, JavaScript off, ${engine})`, function () {
  this.timeout(180_000);
  let site: ReportSite;
  let server: StartedServer;
  let store: Store;
  let chromium: HeadlessBrowser;
  let page: Page;
  // The as-of time: the next whole 3 hours at least a minute from now, so that the real run sent
  // now falls in (T-3h, T) and the x axis has ticks at known clock times.
  let T: number;
  let q: string;

  before(async function () {
    site = makeSite(await storeUrl());
    server = await startSiteServer(site);
    const now = Date.now();
    T = Math.ceil((now + 60_000) / (3 * HOUR)) * 3 * HOUR;
    q = `as_of=${encodeURIComponent(new Date(T).toISOString())}&stale_hours=6&window=24h`;
    // One real run through the server: it records node1's groups and bundles from the repository.
    await xmlrpc(server.url, site.config.tls.ca, "node1", SITE_PASSWORD, "DeclareVersion", ["1.4.0"]);
    await xmlrpc(server.url, site.config.tls.ca, "node1", SITE_PASSWORD, "RecvStats", [statsDocument("clean")]);
    // Runs at known past times, in the server's own store (another connection to its database).
    store = await openStore(site.config.storeUrl);
    await store.recordRun(run("a", T - 20 * HOUR, { seconds: 2, groups: ["web"], bundles: ["motd"] }));
    await store.recordRun(run("a", T - 10 * HOUR, { bad: ["/etc/hosts"], modified: ["sshd"], seconds: 4, groups: ["web"], bundles: ["motd"] }));
    await store.recordRun(run("a", T - 5 * HOUR, { seconds: 6, groups: ["web"], bundles: ["motd"] }));
    await store.recordRun(run("b", T - 23 * HOUR, { groups: ["web"] }));
    await store.recordRun(run("c", T - 30 * HOUR, { modified: ["ntp"] }));
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
    await page.setJavaScriptEnabled(false);
    // The admin gate's login form, as a person would fill it (no script involved).
    await page.goto(`${server.url}/reports/login`);
    await page.type("input[name=password]", ADMIN_PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click("form.login button[type=submit]")]);
    expect(new URL(page.url()).pathname).to.equal("/reports/");
  });

  after(async function () {
    await store?.close();
    await chromium?.close();
    await server?.close();
    site?.cleanup();
  });

  /** A screenshot of an element (or the page) in the site directory, copied to $VACFG_SCREENSHOT_DIR for people to look at. */
  async function keepScreenshot(file: string, sel?: string): Promise<void> {
    const path = join(site.dir, file);
    if (sel) await (await page.$(sel))!.screenshot({ path });
    else await page.screenshot({ path, fullPage: true });
    if (process.env.VACFG_SCREENSHOT_DIR) {
      mkdirSync(process.env.VACFG_SCREENSHOT_DIR, { recursive: true });
      copyFileSync(path, join(process.env.VACFG_SCREENSHOT_DIR, file));
    }
  }

  const texts = (sel: string): Promise<string[]> => page.$$eval(sel, (els) => els.map((e) => (e.textContent ?? "").trim()));
  const count = (sel: string): Promise<number> => page.$$eval(sel, (els) => els.length);
  /** The numbers table under a chart, as rows of cell texts. */
  const table = (id: string): Promise<string[][]> => page.$$eval(`#${id} tbody tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => (td.textContent ?? "").trim())));

  it("draws the fleet's clean, bad, modified and stale counts: one point per 30 minutes over 24 h, labelled axes", async function () {
    await page.goto(`${server.url}/reports/?${q}`);
    expect(await page.evaluate(() => document.scripts.length)).to.equal(0);
    for (const s of ["clean", "bad", "modified", "stale"]) expect(await count(`#chart-states .s-${s} circle.point`), s).to.equal(48);
    expect(await count("#chart-states polyline.line")).to.equal(4);
    expect(await texts("#chart-states .legend text")).to.deep.equal(["clean", "bad", "modified", "stale"]);
    // x: every 3 hours from T-24h to T, the midnight tick showing the date; y: counts of clients.
    const label = (ms: number): string => {
      const iso = new Date(ms).toISOString();
      return iso.slice(11, 16) === "00:00" ? iso.slice(5, 10) : iso.slice(11, 16);
    };
    expect(await texts("#chart-states .axis-x .tick-label")).to.deep.equal(Array.from({ length: 9 }, (_, i) => label(T - 24 * HOUR + i * 3 * HOUR)));
    expect(await texts("#chart-states .axis-y .tick-label")).to.include.members(["0", "1", "2"]);
    expect((await texts("#chart-states .axis-label")).join(" ")).to.contain("clients").and.contain("time (UTC)");
    expect(await page.$eval("#chart-states title", (t) => t.textContent)).to.equal("Clients by state over 24h");
  });

  it("counts at each point what the summary counts at that time", async function () {
    await page.goto(`${server.url}/reports/?${q}`);
    const rows = await table("chart-states-data");
    expect(rows).to.have.length(48);
    // Columns: time, clients, clean, bad, modified, stale. a was bad from T-10h until its clean run at T-5h.
    expect(rows.filter((r) => r[3] === "1").map((r) => r[0])).to.deep.equal(
      Array.from({ length: 10 }, (_, i) => new Date(T - 10 * HOUR + i * HOUR / 2).toISOString().replace(".000Z", "Z")),
    );
    const last = rows[rows.length - 1];
    // At T: a and node1 clean; b (23 h) and c (30 h) stale with stale_hours=6; c's report still modified.
    expect(last.slice(1)).to.deep.equal(["4", "2", "0", "1", "2"]);
    const summary = await Promise.all(["#n-clean", "#n-bad", "#n-modified", "#n-stale"].map((s) => page.$eval(s, (e) => (e.textContent ?? "").trim())));
    expect(summary).to.deep.equal(last.slice(2));
    // c's only run, from before the window, is carried into it: stale and modified at every point.
    expect(rows.every((r) => r[4] !== "0" && r[5] !== "0")).to.equal(true);
  });

  it("places each point against its axis: a point's height is its value's tick", async function () {
    const geometry = await page.$$eval("#chart-states .axis-y .tick-label", (els) => els.map((e) => [(e.textContent ?? "").trim(), Number(e.getAttribute("y"))] as [string, number]));
    const tickY = new Map(geometry);
    const badPoints = await page.$$eval("#chart-states .s-bad circle.point", (cs) => cs.map((c) => [c.querySelector("title")?.textContent ?? "", Number(c.getAttribute("cy"))] as [string, number]));
    for (const [title, cy] of badPoints) {
      const v = /^bad: (\d+) clients at /.exec(title)?.[1];
      expect(v, title).to.be.a("string");
      expect(cy, title).to.be.closeTo(tickY.get(v!)!, 0.2);
    }
    // And the browser lays the chart out as a visible box.
    const box = await page.$eval("#chart-states", (e) => e.getBoundingClientRect().toJSON() as { width: number; height: number });
    expect(box.width).to.be.greaterThan(300);
    expect(box.height).to.be.greaterThan(100);
    await keepScreenshot("chart-states.png", "#chart-states");
    await keepScreenshot("summary.png");
  });

  it("draws run durations: mean and longest per 30 minutes, only where runs had timings", async function () {
    // a's three runs (2, 4, 6 s) and node1's real run (0.6 s); b and c sent one OpStamp only.
    expect(await count("#chart-durations .s-mean circle.point")).to.equal(4);
    expect(await count("#chart-durations .s-max circle.point")).to.equal(4);
    const titles = await page.$$eval("#chart-durations .s-mean circle.point title", (ts) => ts.map((t) => t.textContent ?? ""));
    expect(titles.slice(0, 3).map((t) => t.replace(/ at .*/, ""))).to.deep.equal(["mean: 2 seconds", "mean: 4 seconds", "mean: 6 seconds"]);
    expect(titles[3]).to.match(/^mean: 0\.6 seconds at /);
    expect(await texts("#chart-durations .axis-y .tick-label")).to.include("6");
    expect((await table("chart-durations-data")).map((r) => r[1])).to.deep.equal(["1", "1", "1", "1"]);
  });

  it("offers other windows and keeps the as-of time on their links", async function () {
    const links = await page.$$eval("nav.windows a", (as) => as.map((a) => [a.textContent, a.getAttribute("href")]));
    expect(links.map((l) => l[0])).to.deep.equal(["7d", "30d", "90d"]);
    for (const [, href] of links) expect(href).to.contain("as_of=").and.contain("stale_hours=6");
    await page.goto(`${server.url}/reports/?${q.replace("window=24h", "window=7d")}`);
    // 7 days in 3-hour points.
    expect(await count("#chart-states .s-clean circle.point")).to.equal(56);
    const bad = await page.goto(`${server.url}/reports/?window=5y`);
    expect(bad?.status()).to.equal(400);
    expect(await page.$eval(".error", (e) => e.textContent)).to.contain('window: "5y" must be a duration from 1h to 400d');
  });

  it("lists groups and bundles with their clients' states, as recorded with each newest run", async function () {
    await page.goto(`${server.url}/reports/groups?${q}`);
    const groups = await table("members");
    // node1's real run carried the repository's profile group; a and b were seeded with web.
    expect(groups.map((r) => r[0])).to.deep.equal(["appliance", "web"]);
    // Columns: group, clients, clean, bad, modified, extra, stale.
    expect(groups[1]).to.deep.equal(["web", "2", "1", "0", "0", "0", "1"]);
    await page.goto(`${server.url}/reports/bundles?${q}`);
    expect((await table("members")).map((r) => r.slice(0, 2))).to.deep.equal([["motd", "2"]]);
  });

  it("shows one group: its clients, its problems and its charts over time", async function () {
    await page.goto(`${server.url}/reports/groups?${q}`);
    await Promise.all([page.waitForNavigation(), page.click("#members a[href*='/group/web']")]);
    expect(await page.$eval("h1", (e) => (e.textContent ?? "").trim())).to.equal("Group web");
    expect((await table("clients")).map((r) => r[0])).to.deep.equal(["a", "b"]);
    expect(await count("#chart-states .s-bad circle.point")).to.equal(48);
    const rows = await table("chart-states-data");
    // b's run entered the window at T-23h; a at T-20h; c and node1 are not in web.
    expect(rows[rows.length - 1].slice(1)).to.deep.equal(["2", "1", "0", "0", "1"]);
    expect(rows[0][1]).to.equal("0");
    expect(await count("#chart-durations .s-mean circle.point")).to.equal(3);
    const missing = await page.goto(`${server.url}/reports/group/nosuch?${q}`);
    expect(missing?.status()).to.equal(404);
  });

  it("shows a client's entries as a timeline whose marks link to their runs", async function () {
    await page.goto(`${server.url}/reports/client/a?${q}`);
    expect(await texts("td.members a")).to.deep.equal(["web", "motd"]);
    const rows = await page.$$eval("#chart-timeline g.row", (gs) => gs.map((g) => [g.getAttribute("data-label"), g.querySelectorAll("rect.mark").length]));
    expect(rows).to.deep.equal([
      ["runs (3)", 3],
      ["Path:/etc/hosts", 1],
      ["Service:sshd", 1],
    ]);
    expect(await count("#chart-timeline rect.mark.k-bad")).to.equal(2);
    expect(await count("#chart-timeline rect.mark.k-clean")).to.equal(2);
    expect(await count("#chart-timeline rect.mark.k-modified")).to.equal(1);
    expect(await texts("#chart-timeline .axis-x .tick-label")).to.have.length(9);
    // A mark is a link: following it (no script) opens that run.
    await Promise.all([page.waitForNavigation(), page.click("#chart-timeline g.row[data-label='Path:/etc/hosts'] a")]);
    expect(new URL(page.url()).searchParams.get("run")).to.match(/^\d+$/);
    expect(await page.$eval("section.entries-bad", (e) => e.textContent ?? "")).to.contain("/etc/hosts");
    await page.goBack();
    await keepScreenshot("client-timeline.png", "#chart-timeline");
    await keepScreenshot("client.png");
  });
});
