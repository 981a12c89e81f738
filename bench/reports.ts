// Reporting pages with many clients and runs: the real server over HTTPS (admin Basic auth, keep-alive)
// on a store filled with CLIENTS clients reporting every 30 minutes for DAYS days (one in ten runs
// bad, two groups and a bundle per run), SQLite and PostgreSQL. Per page: the first request (every
// chart point read from the store), then median and p90 of REQUESTS more (finished points cached), and
// the ratio against the client grid (one page of 100 rows, the table view the UI had before the
// charts), measured in the same run. At the end, PostgreSQL against SQLite per page, first view and
// p50 (the goal: 2x at most); both servers run at once and take turns, request by request.
// Usage: node dist/bench/reports.js [clients=1000] [days=7] [requests=7]
import https from "node:https";
import Database from "better-sqlite3";
import pg from "pg";
import { makeSite, startSiteServer, ADMIN_PASSWORD, type ReportSite } from "../harness/report-site.js";
import type { StartedServer } from "../server/start-server.js";
import { findPostgresBin, startPostgres, type PostgresServer } from "../harness/postgres-server.js";
import { openStore, sqlitePath } from "../server/store/open-store.js";
import { NEWEST_RUNS_FILL } from "../server/store/migrations.js";
import { median } from "./measure.js";

const clients = Number(process.argv[2] ?? 1000);
const days = Number(process.argv[3] ?? 7);
const requests = Number(process.argv[4] ?? 7);
const STEP = 30 * 60_000;

interface Row {
  run: unknown[];
  bad: boolean;
  groups: string[];
}

/** Every run of the fleet, oldest first: client i reports at its own offset every 30 minutes. */
function* fleet(end: number): Generator<Row> {
  const perClient = Math.floor((days * 86_400_000) / STEP);
  for (let k = perClient; k > 0; k--) {
    for (let c = 0; c < clients; c++) {
      const at = end - k * STEP + ((c * 7919) % STEP);
      const bad = (c + k) % 10 === 0;
      const t0 = at / 1000 - 30;
      const timings = JSON.stringify({ start: t0, config_download: t0 + 1 + (c % 5), finished: t0 + 3 + (c % 7) + (bad ? 4 : 0) });
      const duration = 3 + (c % 7) + (bad ? 4 : 0);
      yield {
        run: [`client${c}`, at, bad ? "dirty" : "clean", 120, bad ? 119 : 120, bad ? 1 : 0, 0, 0, "r1", 0, "{}", timings, duration],
        bad,
        groups: [`rack${c % 20}`, c % 2 ? "web" : "db"],
      };
    }
  }
}

const RUN_SQL =
  "INSERT INTO runs (client, received_at, state, total, good, bad, modified, extra, revision, dry_run, flags_json, timings_json, duration_s) VALUES ";

async function fillSqlite(file: string, end: number): Promise<number> {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  const run = db.prepare(`${RUN_SQL}(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`);
  const entry = db.prepare("INSERT INTO run_entries (run_id, ord, kind, tag, name, attrs_json, diff) VALUES (?, 0, 'bad', 'Path', '/etc/motd', '{}', NULL)");
  const member = db.prepare("INSERT INTO run_members (run_id, kind, name) VALUES (?, ?, ?)");
  let n = 0;
  db.transaction(() => {
    db.exec("DELETE FROM newest_runs");
    for (const r of fleet(end)) {
      const { id } = run.get(...r.run) as { id: number };
      if (r.bad) entry.run(id);
      for (const g of r.groups) member.run(id, "group", g);
      member.run(id, "bundle", "motd");
      n++;
    }
    // What recordRun keeps, filled here as migration 6 fills it.
    db.exec(NEWEST_RUNS_FILL);
  })();
  db.close();
  return n;
}

async function fillPostgres(url: string, end: number): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let n = 0;
  let batch: Row[] = [];
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    const cols = batch[0].run.map((_, j) => batch.map((r) => r.run[j]));
    const ids = (
      await c.query(
        `${RUN_SQL.replace(" VALUES ", " ")}SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::text[], $10::int[], $11::text[], $12::text[], $13::float8[]) RETURNING id`,
        cols,
      )
    ).rows.map((r) => Number(r.id));
    const badIds = ids.filter((_, i) => batch[i].bad);
    await c.query("INSERT INTO run_entries (run_id, ord, kind, tag, name, attrs_json) SELECT id, 0, 'bad', 'Path', '/etc/motd', '{}' FROM unnest($1::bigint[]) AS id", [badIds]);
    const mr: number[] = [];
    const mk: string[] = [];
    const mn: string[] = [];
    ids.forEach((id, i) => {
      for (const g of batch[i].groups) mr.push(id), mk.push("group"), mn.push(g);
      mr.push(id), mk.push("bundle"), mn.push("motd");
    });
    await c.query("INSERT INTO run_members (run_id, kind, name) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])", [mr, mk, mn]);
    n += batch.length;
    batch = [];
  };
  for (const r of fleet(end)) {
    batch.push(r);
    if (batch.length === 5000) await flush();
  }
  await flush();
  await c.query(NEWEST_RUNS_FILL);
  // What autovacuum does on a live server (migration 4 has it visit runs after 1 % new rows): statistics
  // for the planner and the visibility map that lets the charts' seeks read the index alone.
  await c.query("VACUUM ANALYZE");
  await c.end();
  return n;
}

function get(url: string, ca: string, agent: https.Agent): Promise<{ status: number; ms: number; bytes: number }> {
  const t = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent, servername: "localhost", headers: { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}` } }, (res) => {
        let bytes = 0;
        res.on("data", (c: Buffer) => (bytes += c.length));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - t) / 1e6, bytes }));
      })
      .on("error", reject);
  });
}

const PAGES: Array<[string, string]> = [
  ["client grid, 100 rows (baseline)", "/reports/clients"],
  ["summary + charts, 7d", "/reports/"],
  ["summary + charts, 24h", "/reports/?window=24h"],
  ["summary + charts, 30d", "/reports/?window=30d"],
  ["groups list", "/reports/groups"],
  ["group web (500 clients) + charts, 7d", "/reports/group/web"],
  ["client page + timeline, 7d", "/reports/client/client7"],
];

interface PageTimes {
  first: number;
  p50: number;
}

interface Engine {
  name: string;
  site: ReportSite;
  server: StartedServer;
  agent: https.Agent;
  times: PageTimes[];
}

async function filled(name: string, fill: () => Promise<number>): Promise<void> {
  const t = Date.now();
  const runs = await fill();
  console.log(`${name}: ${clients} clients, ${runs} runs over ${days} days (filled in ${((Date.now() - t) / 1000).toFixed(1)} s)`);
}

/**
 * Every page on every engine, the engines' requests alternating (first views, then each later request
 * in turn), so that a change of load on the machine falls on both alike and the ratio stays fair.
 */
async function measure(engines: Engine[]): Promise<void> {
  for (const [name, path] of PAGES) {
    const ms = engines.map((): number[] => []);
    const cold: number[] = [];
    const bytes: number[] = [];
    for (let i = 0; i < requests + 1; i++) {
      for (const [k, e] of engines.entries()) {
        const r = await get(`${e.server.url}${path}`, e.site.config.tls.ca, e.agent);
        if (r.status !== 200) throw new Error(`${e.name} ${path}: HTTP ${r.status}`);
        // The first request reads every point from the store; the others find the finished ones cached.
        if (i > 0) ms[k].push(r.ms);
        else cold[k] = r.ms;
        bytes[k] = r.bytes;
      }
    }
    console.log(`  ${name}`);
    for (const [k, e] of engines.entries()) {
      const p50 = median(ms[k]);
      const p90 = [...ms[k]].sort((a, b) => a - b)[Math.min(ms[k].length - 1, Math.ceil(ms[k].length * 0.9) - 1)];
      e.times.push({ first: cold[k], p50 });
      const base = e.times[0].p50;
      console.log(`    ${e.name.padEnd(12)} first ${cold[k].toFixed(0).padStart(6)} ms  then p50 ${p50.toFixed(0).padStart(6)} ms  p90 ${p90.toFixed(0).padStart(6)} ms  ${(bytes[k] / 1024).toFixed(0).padStart(5)} KiB  x${(p50 / base).toFixed(2)} of its grid`);
    }
  }
}

const end = Date.now();
const sites: ReportSite[] = [];
const engines: Engine[] = [];
let pgServer: PostgresServer | undefined;
try {
  const sqliteSite = makeSite();
  sites.push(sqliteSite);
  // Create the schema through the store, then fill the file directly (one transaction).
  await (await openStore(sqliteSite.config.storeUrl)).close();
  await filled("SQLite", () => fillSqlite(sqlitePath(sqliteSite.config.storeUrl)!, end));
  const started: Array<[string, ReportSite]> = [["SQLite", sqliteSite]];
  if (findPostgresBin()) {
    pgServer = await startPostgres();
    const url = await pgServer.createDatabase();
    const site = makeSite(url);
    sites.push(site);
    await (await openStore(url)).close();
    await filled("PostgreSQL", () => fillPostgres(url, end));
    started.push(["PostgreSQL", site]);
  } else {
    console.log("PostgreSQL: not installed, skipped");
  }
  for (const [name, site] of started) {
    engines.push({ name, site, server: await startSiteServer(site), agent: new https.Agent({ keepAlive: true, maxSockets: 1 }), times: [] });
  }
  console.log(`\nPages (${requests} requests after the first; the engines take turns):`);
  await measure(engines);
  if (engines.length === 2) {
    const [sqlite, postgres] = engines;
    console.log("\nPostgreSQL / SQLite, same run (goal: at most 2x)");
    PAGES.forEach(([name], i) => {
      const ratio = (k: keyof PageTimes): string => `x${(postgres.times[i][k] / sqlite.times[i][k]).toFixed(2)}`.padStart(6);
      console.log(`  ${name.padEnd(40)} first ${ratio("first")}  p50 ${ratio("p50")}`);
    });
  }
} finally {
  for (const e of engines) {
    e.agent.destroy();
    await e.server.close();
  }
  for (const site of sites) site.cleanup();
  await pgServer?.stop();
}
