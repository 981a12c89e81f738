// Core.getConfig in-process on repo/ (no HTTP/TLS): warm (one Core, finished builds cached), cold
// build (build cache off: every entry bound again, as the server does when a client's inputs
// changed; the repository watched, so parsed files are reused as a server reuses them) against
// the baseline of a fresh Core per call (every file parsed again), measured in the same run. Each is
// measured once the JIT is done with it (warmUp); the cold build also early in its Core's life.
// Last, the CPU of a fresh process's first FRESH_BUILDS cold builds, compile and GC threads apart from
// the main thread: the JIT's whole work on the build path, steadier on a loaded machine than a window's wall time.
// Usage: node dist/bench/core-getconfig.js [calls]
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { Core } from "../server/core/core.js";
import type { ServerSettings } from "../server/core/context.js";
import { instantiatePlugins } from "../server/plugins/registry.js";
import { openStore } from "../server/store/open-store.js";

const CALLS = Number(process.argv[2] ?? 500);
/** Cold builds of a fresh process, as child processes of this one (`--fresh` runs that alone). */
const FRESH_BUILDS = 1500;
const FRESH = process.argv[2] === "--fresh";
const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const dir = mkdtempSync(join(tmpdir(), "vacfg-bench-core-"));
cpSync(join(root, "repo"), join(dir, "repo"), { recursive: true });
const store = await openStore(`sqlite:${join(dir, "store.db")}`);
const logger = pino({ level: "silent" });
const settings: ServerSettings = { repo: join(dir, "repo"), dataDir: dir, password: "labsecret", plugins: [], defaultAuth: "cert+password", allowedProbeGroups: [] };
const newCore = async (buildCache = true) => {
  const c = new Core(settings, store, logger, instantiatePlugins(settings, store, logger), { buildCache, watch: true });
  await c.init();
  return c;
};

/** Runs `call` until the JIT is done with it: at least 300 calls and 2 s of this process's CPU time (compile threads included), at most 20 s. */
async function warmUp(call: () => Promise<string>): Promise<number> {
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  let n = 0;
  const cpuMs = () => {
    const c = process.cpuUsage(cpu0);
    return (c.user + c.system) / 1000;
  };
  while (n < 300 || (cpuMs() < 2000 && Date.now() - t0 < 20_000)) {
    await call();
    n++;
  }
  return n;
}

/**
 * This thread's own CPU time (ns, Linux's schedstat; undefined elsewhere): unlike process.cpuUsage it
 * leaves out the JIT's compile threads and the GC's helpers, and unlike the wall time the waits for a
 * core on a loaded machine.
 */
function mainThreadNs(): number | undefined {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);
  } catch {
    return undefined;
  }
}

async function measure(label: string, call: () => Promise<string>, warmed = false): Promise<number> {
  // A function called once per build is optimized only after a thousand builds or more: until
  // then the JIT's compile threads and the unoptimized code count in what is measured.
  const warmups = warmed ? 0 : await warmUp(call);
  const main0 = mainThreadNs();
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < CALLS; i++) bytes = (await call()).length;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadNs();
  const perSec = (CALLS * 1000) / ms;
  // CPU time per call too: on a loaded machine the wall time also counts the time spent waiting for a core.
  const cpuMs = (cpu.user + cpu.system) / 1000 / CALLS;
  const main = main0 !== undefined && main1 !== undefined ? `  main thread ${((main1 - main0) / 1e6 / CALLS).toFixed(3)} ms` : "";
  console.log(`${label.padEnd(34)} ${perSec.toFixed(1).padStart(8)} calls/s  mean ${(ms / CALLS).toFixed(3)} ms  cpu ${cpuMs.toFixed(3)} ms${main}  (${bytes} bytes${warmed ? "" : `, after ${warmups} warm-up calls`})`);
  return perSec;
}

/** A fresh process's first FRESH_BUILDS cold builds (after one): CPU in ms per build, the process's and the main thread's. */
async function freshBuilds(): Promise<{ cpu: number; main: number }> {
  const core = await newCore(false);
  try {
    await core.getConfig("node1");
    const main0 = mainThreadNs() ?? 0;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < FRESH_BUILDS; i++) await core.getConfig("node1");
    // Compiles queued by the last builds finish on their threads meanwhile.
    await new Promise((r) => setTimeout(r, 300));
    const cpu = process.cpuUsage(cpu0);
    return { cpu: (cpu.user + cpu.system) / 1000 / FRESH_BUILDS, main: ((mainThreadNs() ?? 0) - main0) / 1e6 / FRESH_BUILDS };
  } finally {
    await core.close();
  }
}

try {
  if (FRESH) {
    console.log(JSON.stringify(await freshBuilds()));
  } else await main();
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const warm = await newCore();
  const w = await measure("warm Core (cached builds)", () => warm.getConfig("node1"));
  const uncached = await newCore(false);
  // The same Core early in its life (the JIT still compiling), as a server's first builds are.
  for (let i = 0; i < 300; i++) await uncached.getConfig("node1");
  await measure("cold build, builds 300-800", () => uncached.getConfig("node1"), true);
  const b = await measure("cold build (files cached)", () => uncached.getConfig("node1"));
  const c = await measure("baseline: fresh Core per call", async () => {
    const core = await newCore();
    try {
      return await core.getConfig("node1");
    } finally {
      await core.close();
    }
  });
  console.log(`ratio warm / baseline: ${(w / c).toFixed(2)}x, cold build / baseline: ${(b / c).toFixed(2)}x  (${CALLS} calls each, node1 on repo/)`);
  await warm.close();
  await uncached.close();
  // Three fresh processes, one after the other (the median printed beside the three).
  const runs: Array<{ cpu: number; main: number }> = [];
  for (let i = 0; i < 3; i++) runs.push(JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--fresh"], { encoding: "utf8" })) as { cpu: number; main: number });
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[1]!;
  const cpu = median(runs.map((r) => r.cpu));
  const mainMs = median(runs.map((r) => r.main));
  console.log(
    `fresh process, cold builds 2-${FRESH_BUILDS + 1}: cpu ${cpu.toFixed(3)} ms per build (main thread ${mainMs.toFixed(3)}, compile and GC threads ${(cpu - mainMs).toFixed(3)}; runs ${runs.map((r) => r.cpu.toFixed(3)).join(" ")})`,
  );
}
