// Long lists in the reporting UI come a page at a time: 250 clients registered over the real HTTPS
// server (120 of them with a bad entry, one with 7 runs), then the client grid, /entries/bad and a
// client's history by ?page/?per_page, with totals, previous/next links that keep the other query
// parameters, an empty page past the end, 400s for bad values; and `vacfg reports --page`.
import https from "node:https";
import { expect } from "chai";
import { renderTextReport } from "../../../server/reporting/text-report.js";
import { openStore } from "../../../server/store/open-store.js";
import type { StartedServer } from "../../../server/start-server.js";
import { ADMIN_PASSWORD, makeSite, request, SITE_PASSWORD, startSiteServer, statsDocument, xmlrpc, type HttpResult, type ReportSite } from "../../../harness/report-site.js";

const name = (i: number): string => `c${String(i).padStart(3, "0")}`;

describe("reporting pagination (real server, 250 clients)", function () {
  this.timeout(180_000);
  let site: ReportSite;
  let server: StartedServer;
  const admin = { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}` };
  let agent: https.Agent;
  const ca = (): string => site.config.tls.ca;

  before(async function () {
    site = makeSite();
    server = await startSiteServer(site);
    agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
    const all = Array.from({ length: 250 }, (_, i) => i);
    for (let k = 0; k < all.length; k += 25) {
      await Promise.all(
        all.slice(k, k + 25).map(async (i) => {
          await xmlrpc(server.url, ca(), name(i), SITE_PASSWORD, "DeclareVersion", ["1.4.0"], agent);
          // Every other client of the first 240 reports one run with a bad /etc/motd.
          if (i < 240 && i % 2 === 0) await xmlrpc(server.url, ca(), name(i), SITE_PASSWORD, "RecvStats", [statsDocument("dirty")], agent);
        }),
      );
    }
    for (let r = 0; r < 6; r++) await xmlrpc(server.url, ca(), name(0), SITE_PASSWORD, "RecvStats", [statsDocument(r % 2 ? "dirty" : "clean")], agent);
  });

  after(async function () {
    agent?.destroy();
    await server?.close();
    site?.cleanup();
  });

  const get = (path: string): Promise<HttpResult> => request(`${server.url}${path}`, ca(), { headers: admin, agent });
  /** The rows of a table's tbody (by table id), as text without tags. */
  function rows(body: string, id: string): string[] {
    const m = new RegExp(`id="${id}">[\\s\\S]*?<tbody>([\\s\\S]*?)</tbody>`).exec(body);
    expect(m, `table #${id}`).to.not.equal(null);
    return [...m![1].matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((r) => r[1].replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim());
  }
  const link = (body: string, rel: "prev" | "next"): string | undefined => {
    const m = new RegExp(`rel="${rel}" href="([^"]*)"`).exec(body);
    return m ? m[1].replace(/&amp;/g, "&") : undefined;
  };
  /** Run ids linked from the history table. */
  const historyRuns = (body: string): string[] => [...(/id="history">([\s\S]*?)<\/table>/.exec(body)?.[1] ?? "").matchAll(/run=(\d+)/g)].map((m) => m[1]);
  const rowsLine = (body: string): string => /<span class="rows">([^<]*)<\/span>/.exec(body)?.[1] ?? "";

  it("shows the client grid 100 rows at a time with totals and previous/next links", async function () {
    const first = await get("/reports/clients");
    expect(first.status).to.equal(200);
    const r1 = rows(first.body, "clients");
    expect(r1).to.have.length(100);
    expect(r1[0]).to.match(/^c000 /);
    expect(r1[99]).to.match(/^c099 /);
    expect(rowsLine(first.body)).to.equal("Rows 1–100 of 250 (page 1 of 3)");
    expect(link(first.body, "prev")).to.equal(undefined);
    expect(link(first.body, "next")).to.equal("/reports/clients?page=2");
    const last = await get("/reports/clients?page=3");
    const r3 = rows(last.body, "clients");
    expect(r3).to.have.length(50);
    expect(r3[49]).to.match(/^c249 /);
    expect(rowsLine(last.body)).to.equal("Rows 201–250 of 250 (page 3 of 3)");
    expect(link(last.body, "next")).to.equal(undefined);
    expect(link(last.body, "prev")).to.equal("/reports/clients?page=2");
  });

  it("keeps the filter, as_of, stale_hours and per_page on the page links", async function () {
    const asOf = new Date(Date.now() + 60_000).toISOString();
    const q = `state=never&as_of=${encodeURIComponent(asOf)}&stale_hours=48&per_page=40`;
    const p1 = await get(`/reports/clients?${q}`);
    expect(p1.status).to.equal(200);
    // 130 clients never reported: c001, c003, …, c239 and c240…c249.
    expect(rowsLine(p1.body)).to.equal("Rows 1–40 of 130 (page 1 of 4)");
    expect(rows(p1.body, "clients").every((r) => / never /.test(r))).to.equal(true);
    const next = new URL(link(p1.body, "next")!, server.url);
    expect(next.pathname).to.equal("/reports/clients");
    expect(Object.fromEntries(next.searchParams)).to.deep.equal({ state: "never", as_of: asOf, stale_hours: "48", per_page: "40", page: "2" });
    const p4 = await get(`${next.pathname}?${next.searchParams.toString().replace("page=2", "page=4")}`);
    expect(rowsLine(p4.body)).to.equal("Rows 121–130 of 130 (page 4 of 4)");
    expect(rows(p4.body, "clients").at(-1)).to.match(/^c249 /);
    const prev = new URL(link(p4.body, "prev")!, server.url);
    expect(prev.searchParams.get("page")).to.equal("3");
    expect(prev.searchParams.get("state")).to.equal("never");
  });

  it("pages the bad entries across clients", async function () {
    const p = await get("/reports/entries/bad?per_page=50&page=3");
    expect(p.status).to.equal(200);
    expect(p.body).to.contain("120 bad entries in the newest run of each client");
    expect(rowsLine(p.body)).to.equal("Rows 101–120 of 120 (page 3 of 3)");
    expect(rows(p.body, "entries")).to.have.length(20);
    expect(link(p.body, "next")).to.equal(undefined);
    expect(link(p.body, "prev")).to.equal("/reports/entries/bad?per_page=50&page=2");
  });

  it("pages a client's history and keeps run= on the links", async function () {
    const first = (await get(`/reports/client/${name(0)}?per_page=3`)).body;
    const runs = historyRuns(first);
    expect(runs).to.have.length(3);
    const runId = runs[0];
    const p = await get(`/reports/client/${name(0)}?per_page=3&page=2&run=${runId}`);
    expect(p.status).to.equal(200);
    expect(rowsLine(p.body)).to.equal("Runs 4–6 of 7 (page 2 of 3)");
    const page2 = historyRuns(p.body);
    expect(page2).to.have.length(3);
    // Newest first, and page 2 picks up where page 1 ended.
    expect([...runs, ...page2].map(Number)).to.deep.equal([...runs, ...page2].map(Number).sort((a, b) => b - a));
    expect(new Set([...runs, ...page2]).size).to.equal(6);
    const next = new URL(link(p.body, "next")!, server.url);
    expect(Object.fromEntries(next.searchParams)).to.deep.equal({ per_page: "3", page: "3", run: runId });
    const p3 = await get(`${next.pathname}${next.search}`);
    expect(rows(p3.body, "history")).to.have.length(1);
  });

  it("shows an empty page past the end, linking back to the last page", async function () {
    const p = await get("/reports/clients?page=9");
    expect(p.status).to.equal(200);
    expect(rows(p.body, "clients")).to.deep.equal(["No clients match."]);
    expect(rowsLine(p.body)).to.equal("No rows on page 9: 250 rows fill 3 pages");
    expect(link(p.body, "prev")).to.equal("/reports/clients?page=3");
  });

  it("answers bad page values with 400 naming the parameter", async function () {
    const cases: Array<[string, string]> = [
      ["/reports/clients?page=0", 'page: "0" must be a whole number'],
      ["/reports/clients?page=abc", 'page: "abc" must be a whole number'],
      ["/reports/clients?page=-1", 'page: "-1" must be a whole number'],
      ["/reports/clients?per_page=5000", "per_page: 5000 is above the maximum of 1000"],
      ["/reports/clients?per_page=", ""],
      ["/reports/entries/bad?per_page=1.5", 'per_page: "1.5" must be a whole number'],
      ["/reports/client/c000?page=x", 'page: "x" must be a whole number'],
      ["/reports/clients?page=1&page=2", "page: give it once"],
    ];
    for (const [path, message] of cases) {
      const r = await get(path);
      if (message === "") {
        expect(r.status, path).to.equal(200);
        continue;
      }
      expect(r.status, path).to.equal(400);
      expect(r.body, path).to.contain(message.replace(/"/g, "&#34;"));
    }
    // The server is still answering.
    expect((await get("/reports/clients?per_page=1000")).status).to.equal(200);
  });

  it("pages `vacfg reports` with --page/--per-page", async function () {
    const store = await openStore(site.config.storeUrl);
    try {
      const text = await renderTextReport(store, { view: "clients", page: "2", perPage: "100" });
      const lines = text.trimEnd().split("\n");
      expect(lines[2]).to.match(/^c100 /);
      expect(lines.at(-1)).to.equal("rows 101–200 of 250 (page 2 of 3)");
      const json = JSON.parse(await renderTextReport(store, { view: "bad", page: "2", perPage: "100", json: true })) as { total: number; from: number; items: unknown[] };
      expect([json.total, json.from, json.items.length]).to.deep.equal([120, 101, 20]);
      expect(JSON.parse(await renderTextReport(store, { view: "clients", json: true }))).to.have.length(250);
      let err: unknown;
      await renderTextReport(store, { view: "clients", perPage: "0" }).catch((e: unknown) => (err = e));
      expect(String(err)).to.contain('--per-page: "0" must be a whole number');
    } finally {
      await store.close();
    }
  });
});
