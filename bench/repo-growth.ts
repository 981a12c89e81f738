// GetConfig cost as the repository grows: one client's configuration stays 25 plain Cfg files
// while the repository holds 100, 1,000, 10,000, 50,000 Cfg entries. For each size, vacfg (a real
// server process) and upstream Bcfg2 (/opt/bcfg2-ref, when installed) on the same generated
// repository: start → first GetConfig, and sequential GetConfig latency with a new TLS connection
// per call (as the upstream client). Ratios: vacfg at each size against vacfg at the smallest, and
// vacfg against upstream at the same size.
// Usage: node dist/bench/repo-growth.js [sizes=100,1000,10000,50000] [calls=200] [bytes-per-file=10000]
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { initSite } from "../server/admin/init.js";
import { spawnServer } from "../harness/server-process.js";
import type { LoadResult, LoadSpec } from "./getconfig-load.js";
import { freePort } from "../harness/free-port.js";

const run = promisify(execFile);
const upstreamHome = process.env.BCFG2_REF ?? "/opt/bcfg2-ref";
const SIZES = (process.argv[2] ?? "100,1000,10000,50000").split(",").map(Number);
const CALLS = Number(process.argv[3] ?? 200);
const BYTES = Number(process.argv[4] ?? 10000);
const OWN = 25;
const PER_DIR = 100;
const CLIENT = "node1";
const PASSWORD = "labsecret";
const GETCONFIG = "<?xml version='1.0'?>\n<methodCall>\n<methodName>GetConfig</methodName>\n<params>\n</params>\n</methodCall>\n";
const HEADERS = {
  Authorization: "Basic " + Buffer.from(`${CLIENT}:${PASSWORD}`).toString("base64"),
  "Content-Type": "text/xml",
  "User-Agent": "Python-xmlrpc/3.11",
  "Content-Length": String(Buffer.byteLength(GETCONFIG)),
};

/** The client's 25 files under /etc/app, the rest under /srv/gen/dNNN/ (100 entries a directory). */
function generateRepo(repo: string, entries: number): void {
  const body = (i: number) => `# generated entry ${i}\n` + "x".repeat(Math.max(0, BYTES - 40)) + "\n";
  const put = (rel: string, text: string) => {
    const p = join(repo, rel);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, text);
  };
  put("Metadata/groups.xml", `<Groups>\n  <Group name="app" profile="true" public="true" default="true">\n    <Bundle name="app"/>\n  </Group>\n</Groups>\n`);
  put("Metadata/clients.xml", `<Clients>\n  <Client name="${CLIENT}" profile="app"/>\n</Clients>\n`);
  const own = Array.from({ length: OWN }, (_, i) => `/etc/app/conf-${i}.conf`);
  put("Bundler/app.xml", `<Bundle>\n${own.map((n) => `  <Path name="${n}"/>`).join("\n")}\n</Bundle>\n`);
  own.forEach((n, i) => put(`Cfg${n}/${n.slice(n.lastIndexOf("/") + 1)}`, body(i)));
  for (let i = OWN; i < entries; i++) {
    const name = `file-${i}.conf`;
    put(`Cfg/srv/gen/d${String(Math.floor(i / PER_DIR)).padStart(4, "0")}/${name}/${name}`, body(i));
  }
  for (const d of ["Rules", "Probes", "Defaults", "Properties", "Decisions"]) mkdirSync(join(repo, d), { recursive: true });
}

function load(port: number, total: number): Promise<LoadResult> {
  const spec: LoadSpec = { port, concurrency: 1, total, keepAlive: false, headers: HEADERS, body: GETCONFIG, deadlineMs: 120_000 };
  return new Promise((res, rej) => {
    const w = new Worker(new URL("./getconfig-load.js", import.meta.url), { workerData: spec });
    w.once("message", (m: LoadResult) => res(m));
    w.once("error", rej);
  });
}

function getConfigOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.request({ host: "127.0.0.1", port, method: "POST", path: "/RPC2", headers: HEADERS, rejectUnauthorized: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(res.statusCode === 200 && body.includes("Configuration")));
    });
    req.on("error", () => resolve(false));
    req.end(GETCONFIG);
  });
}

/** Seconds from `t0` until a GetConfig answers with a configuration. */
async function firstConfig(port: number, t0: number): Promise<number> {
  while (!(await getConfigOnce(port))) await new Promise((r) => setTimeout(r, 20));
  return (performance.now() - t0) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Measured {
  startS: number;
  p50Ms: number;
  errors: number;
}

async function measureVacfg(dir: string): Promise<Measured> {
  const { configPath } = initSite(dir, { hostname: "localhost" });
  const t0 = performance.now();
  const srv = await spawnServer(configPath, `sqlite:${join(dir, "store.db")}`, { env: { VACFG_SITE_PASSWORD: PASSWORD } });
  try {
    const port = Number(new URL(srv.url).port);
    const startS = await firstConfig(port, t0);
    await load(port, 20);
    const r = await load(port, CALLS);
    return { startS, p50Ms: median(r.latenciesMs), errors: r.errors };
  } finally {
    await srv.stop();
  }
}

async function measureUpstream(repo: string): Promise<Measured> {
  const port = await freePort();
  const env = { ...process.env, BCFG2_REF: upstreamHome };
  const t0 = performance.now();
  // --in-place: no copy of the repository into the kit's run directory (that copy is not start-up).
  await run(join(upstreamHome, "start-server.sh"), ["--repo", repo, "--in-place", "--port", String(port), "--password", PASSWORD], { env, maxBuffer: 1 << 24 });
  try {
    const startS = await firstConfig(port, t0);
    await load(port, 20);
    const r = await load(port, CALLS);
    return { startS, p50Ms: median(r.latenciesMs), errors: r.errors };
  } finally {
    await run(join(upstreamHome, "stop-server.sh"), ["--port", String(port)], { env }).catch(() => undefined);
  }
}

const haveUpstream = existsSync(join(upstreamHome, "start-server.sh"));
const rows: Array<{ entries: number; genS: number; vacfg: Measured; upstream?: Measured }> = [];
for (const entries of SIZES) {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-bench-growth-"));
  try {
    const g0 = performance.now();
    generateRepo(join(dir, "repo"), entries);
    const genS = (performance.now() - g0) / 1000;
    const vacfg = await measureVacfg(dir);
    const upstream = haveUpstream ? await measureUpstream(join(dir, "repo")) : undefined;
    rows.push({ entries, genS, vacfg, upstream });
    console.log(
      `${entries} entries (${((entries * BYTES) / 1e6).toFixed(0)} MB, generated in ${genS.toFixed(1)} s): vacfg p50 ${vacfg.p50Ms.toFixed(2)} ms, start ${vacfg.startS.toFixed(2)} s` +
        (upstream ? `; upstream p50 ${upstream.p50Ms.toFixed(2)} ms, start ${upstream.startS.toFixed(2)} s` : ""),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const base = rows[0].vacfg.p50Ms;
console.log("");
console.log(`GetConfig, ${OWN}-file configuration, new TLS connection per call, ${CALLS} sequential calls${haveUpstream ? "" : " (upstream not installed)"}`);
console.log("entries   vacfg p50 ms  vs smallest  upstream p50 ms  vacfg/upstream  vacfg start s  upstream start s  errors");
for (const { entries, vacfg, upstream } of rows) {
  console.log(
    `${String(entries).padStart(7)} ${vacfg.p50Ms.toFixed(2).padStart(14)} ${(vacfg.p50Ms / base).toFixed(2).padStart(12)} ${(upstream?.p50Ms.toFixed(2) ?? "-").padStart(16)} ${(upstream ? (vacfg.p50Ms / upstream.p50Ms).toFixed(2) : "-").padStart(15)} ${vacfg.startS.toFixed(2).padStart(14)} ${(upstream?.startS.toFixed(2) ?? "-").padStart(17)} ${String(vacfg.errors + (upstream?.errors ?? 0)).padStart(7)}`,
  );
}
