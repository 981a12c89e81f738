// Scale benchmark: N simulated clients each do a full run (DeclareVersion, GetProbes,
// RecvProbeData, GetConfig, RecvStats) over HTTPS against real vacfg server processes, with
// bounded concurrency on keep-alive connections. Configurations: SQLite x1 (baseline),
// PostgreSQL x1, PostgreSQL x2 instances (clients spread over both). Prints total time, runs/s,
// p50/p99 latency per method, server RSS, and the ratios SQLite/PostgreSQL and 1 vs 2 instances.
// The load generator shares the machine's cores with the servers: compare ratios, not absolutes.
// With --new, each configuration runs twice: clients already in clients.xml (the baseline) and
// clients the server has never seen (each first run registers the client and records its version).
// --sqlite leaves PostgreSQL out. --100k is the issue's scale goal: 10,000 (the baseline) then 100,000
// new clients, SQLite, one server process; each row adds per-run p50/p99, the server's peak RSS, the
// store's size on disk, and the per-client cost of the last tenth of the run against the first tenth.
// Usage: node dist/bench/scale.js [N[,N...]=1000,10000] [concurrency=32] [--new] [--sqlite] [--100k]
import https from "node:https";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findPostgresBin, startPostgres, type PostgresServer } from "../harness/postgres-server.js";
import { spawnServer, type ServerProcess } from "../harness/server-process.js";
import { ADMIN_PASSWORD, makeSite, SITE_PASSWORD, statsDocument, xmlrpc, type ReportSite } from "../harness/report-site.js";

const METHODS = ["DeclareVersion", "GetProbes", "RecvProbeData", "GetConfig", "RecvStats"] as const;
type Method = (typeof METHODS)[number];

interface Result {
  label: string;
  n: number;
  seconds: number;
  runsPerSecond: number;
  latency: Record<Method | "run", { p50: number; p99: number }>;
  rssMiB: number;
  peakRssMiB: number;
  storeMiB: number;
  clientsXmlMiB: number;
  /** Seconds per run in the last tenth of the run over the first tenth (1 = the cost does not grow). */
  tailOverHead: number;
  failures: number;
  resets: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** VmRSS (now) or VmHWM (the process's peak) in MiB. */
function rssMiB(pid: number, field: "VmRSS" | "VmHWM" = "VmRSS"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Bytes on disk of a SQLite store (database, WAL and shared-memory files); NaN for another engine. */
function storeMiB(url: string): number {
  if (!url.startsWith("sqlite:")) return NaN;
  const db = url.slice("sqlite:".length);
  return [db, `${db}-wal`, `${db}-shm`].reduce((sum, f) => sum + (existsSync(f) ? statSync(f).size : 0), 0) / 2 ** 20;
}

/**
 * Every client named in clients.xml up front, with the version it will declare (the steady state of
 * known clients), or none (`known` false): then each first run adds a <Client> line and its version,
 * as upstream does, and every server re-reads the file.
 */
function registerClients(site: ReportSite, n: number, known: boolean): void {
  const lines = known ? Array.from({ length: n }, (_, i) => `  <Client name="sim${i}" profile="appliance" version="1.4.0"/>`) : [];
  writeFileSync(join(site.config.settings.repo, "Metadata/clients.xml"), `<Clients>\n${lines.join("\n")}\n</Clients>\n`);
}

function probeData(probes: string): string {
  const items = [...probes.matchAll(/<probe [^>]*name="([^"]*)"[^>]*source="([^"]*)"/g)].map((m) => `<probe-data name="${m[1]}" source="${m[2]}">group:probed\n</probe-data>`);
  return `<ProbeData>${items.join("")}</ProbeData>`;
}

async function runClients(label: string, servers: ServerProcess[], ca: string, n: number, concurrency: number, site: ReportSite, storeUrl: string): Promise<Result> {
  const agents = servers.map(() => new https.Agent({ keepAlive: true, maxSockets: Math.ceil(concurrency / servers.length) }));
  const lat: Record<Method | "run", number[]> = { DeclareVersion: [], GetProbes: [], RecvProbeData: [], GetConfig: [], RecvStats: [], run: [] };
  /** When each run finished (seconds since the start), in order of finishing. */
  const finished: number[] = [];
  const progressEvery = Math.max(1000, Math.ceil(n / 10));
  const stats = [statsDocument("clean"), statsDocument("dirty")];
  let t0 = process.hrtime.bigint();
  let next = 0;
  let failures = 0;
  let resets = 0;
  const timed = async (m: Method, url: string, client: string, params: string[], agent: https.Agent): Promise<unknown> => {
    const t = process.hrtime.bigint();
    let v: unknown;
    try {
      v = await xmlrpc(url, ca, client, SITE_PASSWORD, m, params, agent);
    } catch (e) {
      // A kept-alive socket the server closed as the request went out: retry once, as clients do.
      if ((e as NodeJS.ErrnoException).code !== "ECONNRESET") throw e;
      resets++;
      v = await xmlrpc(url, ca, client, SITE_PASSWORD, m, params, agent);
    }
    lat[m].push(Number(process.hrtime.bigint() - t) / 1e6);
    return v;
  };
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      const s = i % servers.length;
      const url = servers[s].url;
      const agent = agents[s];
      const client = `sim${i}`;
      const t = process.hrtime.bigint();
      try {
        await timed("DeclareVersion", url, client, ["1.4.0"], agent);
        const probes = String(await timed("GetProbes", url, client, [], agent));
        await timed("RecvProbeData", url, client, [probeData(probes)], agent);
        const config = String(await timed("GetConfig", url, client, [], agent));
        if (!config.includes("/etc/probed")) throw new Error(`${client}: configuration without the probed group's entry`);
        await timed("RecvStats", url, client, [stats[i % 2]], agent);
        lat.run.push(Number(process.hrtime.bigint() - t) / 1e6);
        finished.push(Number(process.hrtime.bigint() - t0) / 1e9);
        if (n >= 20_000 && finished.length % progressEvery === 0) {
          const rss = servers.map((srv) => rssMiB(srv.proc.pid!).toFixed(0)).join("+");
          console.log(`  ${label}: ${finished.length} runs in ${finished.at(-1)!.toFixed(1)} s, server RSS ${rss} MiB`);
        }
      } catch (e) {
        if (failures++ < 3) console.error(`${label}: ${client}: ${(e as Error).message}`);
      }
    }
  };
  // One untimed call per server first: the first request parses the repository (clients.xml of N clients).
  await Promise.all(servers.map((srv, k) => xmlrpc(srv.url, ca, "sim0", SITE_PASSWORD, "GetProbes", [], agents[k])));
  t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const a of agents) a.destroy();
  const latency = Object.fromEntries(
    [...METHODS, "run" as const].map((m) => {
      const xs = lat[m].sort((a, b) => a - b);
      return [m, { p50: percentile(xs, 50), p99: percentile(xs, 99) }];
    }),
  ) as Result["latency"];
  const rss = servers.reduce((sum, s) => sum + rssMiB(s.proc.pid!), 0);
  const peak = servers.reduce((sum, s) => sum + rssMiB(s.proc.pid!, "VmHWM"), 0);
  const tenth = Math.floor(finished.length / 10);
  const tailOverHead = tenth > 0 ? (finished[finished.length - 1] - finished[finished.length - 1 - tenth]) / finished[tenth - 1] : NaN;
  const clientsXml = join(site.config.settings.repo, "Metadata/clients.xml");
  return {
    label,
    n,
    seconds,
    runsPerSecond: (n - failures) / seconds,
    latency,
    rssMiB: rss,
    peakRssMiB: peak,
    storeMiB: storeMiB(storeUrl),
    clientsXmlMiB: statSync(clientsXml).size / 2 ** 20,
    tailOverHead,
    failures,
    resets,
  };
}

function print(r: Result): void {
  const lat = [...METHODS, "run" as const].map((m) => `${m} ${r.latency[m].p50.toFixed(1)}/${r.latency[m].p99.toFixed(1)}`).join("  ");
  const store = Number.isNaN(r.storeMiB) ? "" : `  store ${r.storeMiB.toFixed(1)} MiB`;
  console.log(
    `${r.label.padEnd(14)} N=${String(r.n).padEnd(6)} total ${r.seconds.toFixed(1)} s  ${r.runsPerSecond.toFixed(1)} runs/s  server RSS ${r.rssMiB.toFixed(0)} MiB (peak ${r.peakRssMiB.toFixed(0)})${store}  clients.xml ${r.clientsXmlMiB.toFixed(1)} MiB  failures ${r.failures} retried-resets ${r.resets}\n` +
      `${"".padEnd(14)} latency ms p50/p99: ${lat}\n` +
      `${"".padEnd(14)} seconds per run, last tenth / first tenth: ${r.tailOverHead.toFixed(2)}`,
  );
}

let dbSerial = 0;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flags = new Set(args.filter((a) => a.startsWith("--")));
  const goal = flags.has("--100k");
  // The scale goal: every client is new (registers on its first run), one SQLite server process.
  const fresh = flags.has("--new") || goal;
  const onlyNew = goal;
  const positional = args.filter((a) => !a.startsWith("--"));
  const sizes = (positional[0] ?? (goal ? "10000,100000" : "1000,10000")).split(",").map(Number);
  const concurrency = Number(positional[1] ?? 32);
  if (sizes.some((n) => !(n > 0)) || !(concurrency > 0) || [...flags].some((f) => !["--new", "--sqlite", "--100k"].includes(f))) {
    throw new Error("usage: scale.js [N[,N...]] [concurrency] [--new] [--sqlite] [--100k]");
  }
  const env = { VACFG_SITE_PASSWORD: SITE_PASSWORD, VACFG_ADMIN_PASSWORD: ADMIN_PASSWORD, VACFG_LOG_LEVEL: "warn" };
  // fsync on, as SQLite's synchronous=FULL: both engines acknowledge only durable writes.
  const wantPg = !flags.has("--sqlite") && !goal;
  const pg: PostgresServer | undefined = wantPg && findPostgresBin() ? await startPostgres({ durable: true }) : undefined;
  if (wantPg && !pg) console.log("PostgreSQL not installed: SQLite only");
  const all: Result[] = [];
  console.log(`scale: ${sizes.join(", ")} clients, concurrency ${concurrency}, load generator on the same machine`);
  try {
    for (const n of sizes) {
      const site = makeSite();
      const ca = site.config.tls.ca;
      const results: Result[] = [];
      try {
        const configs: Array<[string, number, () => Promise<string>]> = [["sqlite x1", 1, async () => `sqlite:${join(site.dir, `scale-${n}-${++dbSerial}.db`)}`]];
        if (pg) configs.push(["postgres x1", 1, () => pg.createDatabase()], ["postgres x2", 2, () => pg.createDatabase()]);
        const runs = configs.flatMap(([label, instances, db]): Array<[string, number, () => Promise<string>, boolean]> =>
          onlyNew ? [[`${label} new`, instances, db, false]] : fresh ? [[label, instances, db, true], [`${label} new`, instances, db, false]] : [[label, instances, db, true]],
        );
        for (const [label, instances, db, known] of runs) {
          registerClients(site, n, known);
          const url = await db();
          const servers = await Promise.all(Array.from({ length: instances }, (_, k) => spawnServer(site.configPath, url, { env, logFile: join(site.dir, `${label.replace(/\W+/g, "-")}-${k}.log`) })));
          try {
            const r = await runClients(label, servers, ca, n, concurrency, site, url);
            print(r);
            results.push(r);
            all.push(r);
          } finally {
            await Promise.all(servers.map((s) => s.stop()));
          }
        }
      } finally {
        site.cleanup();
      }
      const by = (l: string): Result | undefined => results.find((r) => r.label === l);
      const s1 = by("sqlite x1");
      const p1 = by("postgres x1");
      const p2 = by("postgres x2");
      if (s1 && p1) console.log(`N=${n}: runs/s ratio sqlite/postgres ${(s1.runsPerSecond / p1.runsPerSecond).toFixed(2)}`);
      if (p1 && p2) console.log(`N=${n}: runs/s ratio postgres 2 instances / 1 instance ${(p2.runsPerSecond / p1.runsPerSecond).toFixed(2)}`);
      for (const r of results.filter((x) => x.label.endsWith(" new"))) {
        const base = by(r.label.slice(0, -4));
        if (base) console.log(`N=${n}: ${r.label}: first runs of new clients / known clients, runs/s ${(r.runsPerSecond / base.runsPerSecond).toFixed(2)}`);
      }
    }
    // Per-client cost against the smallest size of the same configuration (1 = it does not grow with N).
    for (const r of all.filter((x) => x.n !== sizes[0])) {
      const base = all.find((x) => x.label === r.label && x.n === sizes[0]);
      if (!base) continue;
      const perRun = r.seconds / r.n / (base.seconds / base.n);
      console.log(`${r.label}: N=${r.n} against N=${base.n}: seconds per run ${perRun.toFixed(2)}x, run p50 ${(r.latency.run.p50 / base.latency.run.p50).toFixed(2)}x, p99 ${(r.latency.run.p99 / base.latency.run.p99).toFixed(2)}x, peak RSS ${r.peakRssMiB.toFixed(0)} / ${base.peakRssMiB.toFixed(0)} MiB`);
    }
  } finally {
    await pg?.stop();
  }
}

await main();
