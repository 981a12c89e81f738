// GetConfig throughput and latency of the vacfg server (startServer on repo/), for 1 and 8
// concurrent callers, with a new TLS connection per call (as the upstream client) and with
// keep-alive; against (a) an HTTPS server with the same TLS setup that returns the same
// pre-built response, and (b) the upstream Bcfg2 server on the same repository when
// /opt/bcfg2-ref is installed — all in the same run. Each scenario runs ROUNDS times, vacfg and the
// baseline alternating (in turned order every other round), and the median round is kept for the
// table; the ratios are the median of the rounds' own ratios, each against the baseline run next to
// it (other work on the machine comes and goes: two runs side by side see about the same load). The
// CPU time of the thread serving vacfg and the baseline (this process's main thread) is printed per call.
// Last, one caller alternates its calls between vacfg and the baseline, call by call.
// Usage: node dist/bench/getconfig.js [calls-per-scenario] [seconds-cap-per-scenario] [rounds]
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { initSite } from "../server/admin/init.js";
import { loadServerConfig } from "../server/admin/server-config.js";
import { startServer } from "../server/start-server.js";
import type { LoadResult, LoadSpec } from "./getconfig-load.js";
import { freePort } from "../harness/free-port.js";

const run = promisify(execFile);
const here = fileURLToPath(new URL(".", import.meta.url));
const projectRoot = resolve(here, "../..");
const upstreamHome = process.env.BCFG2_REF ?? "/opt/bcfg2-ref";
const TOTAL = Number(process.argv[2] ?? 300);
const CAP_MS = Number(process.argv[3] ?? 20) * 1000;
const ROUNDS = Number(process.argv[4] ?? 5);
const CLIENT = "node1";
const PASSWORD = "labsecret";

const headers = (body: string): Record<string, string> => ({
  Authorization: "Basic " + Buffer.from(`${CLIENT}:${PASSWORD}`).toString("base64"),
  "Accept-Encoding": "gzip",
  "Content-Type": "text/xml",
  "User-Agent": "Python-xmlrpc/3.11",
  "Content-Length": String(Buffer.byteLength(body)),
});
const GETCONFIG = "<?xml version='1.0'?>\n<methodCall>\n<methodName>GetConfig</methodName>\n<params>\n</params>\n</methodCall>\n";

// listMethods touches no plugin: its rate shows what the front itself costs per call.
const LISTMETHODS = "<?xml version='1.0'?>\n<methodCall>\n<methodName>listMethods</methodName>\n<params>\n</params>\n</methodCall>\n";

/** CPU milliseconds this process's main thread (where the measured servers run) has used; undefined off Linux. */
function mainThreadCpuMs(): number | undefined {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in USER_HZ (100) ticks
  } catch {
    return undefined;
  }
}

type Measured = LoadResult & { cpuMsPerCall?: number };

async function load(spec: Omit<LoadSpec, "headers" | "body" | "deadlineMs">, body = GETCONFIG): Promise<Measured> {
  const cpu0 = mainThreadCpuMs();
  const r = await loadOnce(spec, body);
  const cpu1 = mainThreadCpuMs();
  return cpu0 === undefined || cpu1 === undefined || r.calls === 0 ? r : { ...r, cpuMsPerCall: (cpu1 - cpu0) / r.calls };
}

function loadOnce(spec: Omit<LoadSpec, "headers" | "body" | "deadlineMs">, body: string): Promise<LoadResult> {
  return new Promise((res, rej) => {
    const w = new Worker(new URL("./getconfig-load.js", import.meta.url), {
      workerData: { ...spec, headers: headers(body), body, deadlineMs: CAP_MS },
    });
    w.once("message", (m: LoadResult) => res(m));
    w.once("error", rej);
  });
}

function fetchOnce(port: number): Promise<Buffer> {
  return new Promise((res, rej) => {
    const req = https.request({ host: "127.0.0.1", port, method: "POST", path: "/RPC2", headers: { ...headers(GETCONFIG), "Accept-Encoding": "identity" }, rejectUnauthorized: false }, (r) => {
      const c: Buffer[] = [];
      r.on("data", (d: Buffer) => c.push(d));
      r.on("end", () => (r.statusCode === 200 ? res(Buffer.concat(c)) : rej(new Error(`HTTP ${r.statusCode}`))));
    });
    req.on("error", rej);
    req.end(GETCONFIG);
  });
}

interface Row {
  server: string;
  mode: string;
  concurrency: number;
  r: Measured;
}

/** A ratio of rates: the median of the rounds' own (each against the baseline run beside it), its range, and the ratio of the median rates. */
interface Ratio {
  median: number;
  min: number;
  max: number;
  ofMedians: number;
}

function pairedRatio(a: Measured[], base: Measured[]): Ratio {
  const each = a.map((r, i) => rate(r) / rate(base[i])).sort((x, y) => x - y);
  return { median: each[Math.floor(each.length / 2)], min: each[0], max: each[each.length - 1], ofMedians: rate(median(a)) / rate(median(base)) };
}

function showRatio(r: Ratio): string {
  return `${r.median.toFixed(2)}  (rounds ${r.min.toFixed(2)}-${r.max.toFixed(2)}; median rates ${r.ofMedians.toFixed(2)})`;
}

/** The round with the median rate. */
function median(rounds: Measured[]): Measured {
  return [...rounds].sort((a, b) => rate(a) - rate(b))[Math.floor(rounds.length / 2)];
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function rate(r: LoadResult): number {
  return r.calls / r.seconds;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-bench-getconfig-"));
  const rows: Row[] = [];
  const ratios = new Map<string, Ratio>();
  const closers: Array<() => Promise<void>> = [];
  try {
    cpSync(join(projectRoot, "repo"), join(dir, "repo"), { recursive: true });
    const { configPath } = initSite(dir, { hostname: "localhost" });
    const cfg = loadServerConfig(configPath);
    cfg.settings.password = PASSWORD;
    cfg.listen = { host: "127.0.0.1", port: 0 };
    const logger = pino({ level: "silent" });
    const vacfg = await startServer({ ...cfg, logger });
    closers.push(() => vacfg.close());
    const vacfgGz = await startServer({ ...cfg, logger, gzipMinBytes: 1024 });
    closers.push(() => vacfgGz.close());

    // Baseline: same TLS options, no work — the pre-built GetConfig response of this run.
    const prebuilt = await fetchOnce(vacfg.port);
    const baseline = https.createServer(
      { cert: cfg.tls.cert, key: cfg.tls.key, ca: cfg.tls.ca, requestCert: true, rejectUnauthorized: false, minVersion: "TLSv1.2" },
      (req, res) => {
        req.resume();
        req.on("end", () => {
          res.writeHead(200, { "Content-type": "text/xml", "Content-length": String(prebuilt.length) });
          res.end(prebuilt);
        });
      },
    );
    baseline.keepAliveTimeout = 5000;
    await new Promise<void>((r) => baseline.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise((r) => { baseline.closeAllConnections(); baseline.close(() => r()); }));
    const basePort = (baseline.address() as { port: number }).port;

    let upstreamPort: number | undefined;
    if (existsSync(join(upstreamHome, "start-server.sh"))) {
      upstreamPort = await freePort();
      const env = { ...process.env, BCFG2_REF: upstreamHome };
      await run(join(upstreamHome, "start-server.sh"), ["--repo", join(projectRoot, "repo"), "--port", String(upstreamPort), "--password", PASSWORD], { env });
      const port = upstreamPort;
      closers.push(async () => void (await run(join(upstreamHome, "stop-server.sh"), ["--port", String(port)], { env }).catch(() => undefined)));
    }

    console.log(`GetConfig for ${CLIENT}: ${prebuilt.length} bytes methodResponse; ${TOTAL} calls per scenario, ${TOTAL * 10} with keep-alive (cap ${CAP_MS / 1000} s)`);
    // Warm-up: caches, JIT, TLS session setup.
    await load({ port: vacfg.port, concurrency: 2, total: 40, keepAlive: false });
    await load({ port: vacfg.port, concurrency: 2, total: 2000, keepAlive: true });
    await load({ port: basePort, concurrency: 2, total: 2000, keepAlive: true });
    if (upstreamPort) await load({ port: upstreamPort, concurrency: 1, total: 20, keepAlive: false });

    for (const concurrency of [1, 8]) {
      for (const keepAlive of [false, true]) {
        const mode = keepAlive ? "keep-alive" : "new TLS conn/call";
        // A kept-alive call costs about a tenth of a new connection's: ten times the calls, so that a
        // round lasts long enough (about a second) for the rate to mean something on a shared machine.
        const total = keepAlive ? TOTAL * 10 : TOTAL;
        const rounds = { vacfg: [] as Measured[], baseline: [] as Measured[], front: [] as Measured[] };
        const runs: Record<keyof typeof rounds, () => Promise<Measured>> = {
          vacfg: () => load({ port: vacfg.port, concurrency, total, keepAlive }),
          baseline: () => load({ port: basePort, concurrency, total, keepAlive }),
          front: () => load({ port: vacfg.port, concurrency, total, keepAlive }, LISTMETHODS),
        };
        // The baseline in the middle, next to both; the order turned every other round, so neither side always goes first.
        for (let i = 0; i < ROUNDS; i++) {
          for (const s of i % 2 === 0 ? (["vacfg", "baseline", "front"] as const) : (["front", "baseline", "vacfg"] as const)) rounds[s].push(await runs[s]());
        }
        rows.push({ server: "vacfg", mode, concurrency, r: median(rounds.vacfg) });
        rows.push({ server: "baseline (pre-built body)", mode, concurrency, r: median(rounds.baseline) });
        rows.push({ server: "vacfg listMethods (front)", mode, concurrency, r: median(rounds.front) });
        ratios.set(`vacfg ${mode} ${concurrency}`, pairedRatio(rounds.vacfg, rounds.baseline));
        ratios.set(`front ${mode} ${concurrency}`, pairedRatio(rounds.front, rounds.baseline));
        if (!keepAlive) rows.push({ server: "vacfg gzip", mode, concurrency, r: await load({ port: vacfgGz.port, concurrency, total: TOTAL, keepAlive }) });
        // The upstream server closes after every response (HTTP/1.0), so keep-alive does not apply.
        if (upstreamPort && !keepAlive) rows.push({ server: "upstream Bcfg2", mode, concurrency, r: await load({ port: upstreamPort, concurrency, total: TOTAL, keepAlive }) });
      }
    }

    // One caller whose calls alternate between vacfg and the baseline: each call of one beside a call of
    // the other, so both see the same load, however it changes (the ratio of their mean latencies).
    const alternating: Array<{ mode: string; r: LoadResult }> = [];
    for (const keepAlive of [false, true]) {
      const mode = keepAlive ? "keep-alive" : "new TLS conn/call";
      alternating.push({ mode, r: await loadOnce({ port: vacfg.port, alternatePort: basePort, concurrency: 1, total: 2 * ROUNDS * (keepAlive ? TOTAL * 10 : TOTAL), keepAlive }, GETCONFIG) });
    }

    console.log("");
    console.log(`load average at the end: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}; vacfg, baseline and front rows: the median of ${ROUNDS} alternating rounds`);
    console.log("server                     mode               clients   calls  errors   calls/s   p50 ms   p99 ms  server CPU us/call");
    for (const { server, mode, concurrency, r } of rows) {
      const s = [...r.latenciesMs].sort((a, b) => a - b);
      console.log(
        `${server.padEnd(26)} ${mode.padEnd(18)} ${String(concurrency).padStart(7)} ${String(r.calls).padStart(7)} ${String(r.errors).padStart(7)} ${rate(r).toFixed(1).padStart(9)} ${pct(s, 50).toFixed(2).padStart(8)} ${pct(s, 99).toFixed(2).padStart(8)}` +
          (server !== "upstream Bcfg2" && r.cpuMsPerCall !== undefined ? `  ${(r.cpuMsPerCall * 1000).toFixed(0).padStart(8)}` : "") +
          (r.firstError ? `  (first error: ${r.firstError})` : ""),
      );
    }
    console.log("");
    const find = (server: string, mode: string, c: number): Row | undefined => rows.find((x) => x.server === server && x.mode === mode && x.concurrency === c);
    console.log("ratios against the baseline: the median of the rounds' own ratios (each round against the baseline run beside it)");
    for (const c of [1, 8]) {
      for (const mode of ["new TLS conn/call", "keep-alive"]) {
        console.log(`ratio vacfg / baseline      ${mode.padEnd(18)} ${c} client(s): ${showRatio(ratios.get(`vacfg ${mode} ${c}`)!)}`);
        console.log(`ratio front-only / baseline ${mode.padEnd(18)} ${c} client(s): ${showRatio(ratios.get(`front ${mode} ${c}`)!)}`);
      }
      if (c === 1) {
        for (const { mode, r } of alternating) {
          const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
          const [v, b] = [r.latenciesMs, r.alternateLatenciesMs ?? []];
          const p50 = (xs: number[]): number => pct([...xs].sort((x, y) => x - y), 50);
          console.log(
            `ratio vacfg / baseline      ${mode.padEnd(18)} 1 client, calls alternating: ${(sum(b) / b.length / (sum(v) / v.length)).toFixed(2)}  (${v.length} + ${b.length} calls; p50 ${p50(v).toFixed(3)} / ${p50(b).toFixed(3)} ms${r.errors ? `; ${r.errors} errors` : ""})`,
          );
        }
      }
      const vn = find("vacfg", "new TLS conn/call", c)!;
      const u = find("upstream Bcfg2", "new TLS conn/call", c);
      if (u) console.log(`ratio vacfg / upstream      new TLS conn/call  ${c} client(s): ${(rate(vn.r) / rate(u.r)).toFixed(2)}`);
      const vk = find("vacfg", "keep-alive", c)!;
      if (u) console.log(`ratio vacfg keep-alive / upstream           ${c} client(s): ${(rate(vk.r) / rate(u.r)).toFixed(2)}`);
      const gz = find("vacfg gzip", "new TLS conn/call", c)!;
      console.log(`ratio vacfg gzip / vacfg    new TLS conn/call  ${c} client(s): ${(rate(gz.r) / rate(vn.r)).toFixed(2)}`);
    }
  } finally {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
