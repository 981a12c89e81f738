// The durability check: a writer child is SIGKILLed at random moments; every run id it
// acknowledged must be in the reopened store, with all its entries.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openStore } from "../server/store/open-store.js";
import type { RunRecord } from "../server/store/store.js";

export interface DurabilityReport {
  trials: number;
  acknowledged: number;
  lost: number;
  /** Runs committed but killed before the child could print them (allowed, at most one per trial). */
  unacknowledgedPresent: number;
  /** Acknowledged runs whose entries came back incomplete (must be 0). */
  torn: number;
}

/** Entries per written run; the checker expects exactly this many back for each acknowledged run. */
export const ENTRIES_PER_RUN = 8;

export function durabilityRun(client: string, seq: number): RunRecord {
  return {
    client,
    timestamp: Date.now(),
    state: "dirty",
    total: ENTRIES_PER_RUN,
    good: ENTRIES_PER_RUN - 1,
    bad: 1,
    modified: 0,
    extra: 0,
    revision: `seq-${seq}`,
    dryRun: false,
    flags: {},
    timings: { start: Date.now() / 1000 },
    entries: Array.from({ length: ENTRIES_PER_RUN }, (_, i) => ({
      kind: i === 0 ? ("bad" as const) : ("good" as const),
      tag: "Path",
      name: `/etc/file${i}`,
      attrs: { type: "file", owner: "root", mode: "0644" },
      diff: i === 0 ? "-old\n+new\n".repeat(20) : undefined,
    })),
  };
}

const WRITER = fileURLToPath(new URL("./store-durability-writer.js", import.meta.url));

/** Runs the writer until its first acknowledgement plus a random delay, SIGKILLs it, returns the ids it printed. */
function killedWriter(url: string, client: string, maxDelayMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, url, client], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let armed = false;
    const giveUp = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (!armed && out.includes("\n")) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), Math.random() * maxDelayMs);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(giveUp);
      if (!armed) return reject(new Error(`writer acknowledged nothing (exit ${code ?? signal}): ${err.trim()}`));
      // Only complete lines were acknowledged; a partial last line cannot happen (small pipe writes are atomic).
      resolve(out.split("\n").filter((l) => /^\d+$/.test(l)).map(Number));
    });
  });
}

export async function durabilityTrials(url: string, trials: number, maxDelayMs = 200): Promise<DurabilityReport> {
  const report: DurabilityReport = { trials, acknowledged: 0, lost: 0, unacknowledgedPresent: 0, torn: 0 };
  await (await openStore(url)).close(); // migrate once up front, so no trial is killed mid-migration
  for (let i = 0; i < trials; i++) {
    const client = `trial-${i}`;
    const acked = await killedWriter(url, client, maxDelayMs);
    const store = await openStore(url);
    try {
      const present = new Set((await store.listRuns({ client })).map((r) => r.id));
      report.acknowledged += acked.length;
      for (const id of acked) {
        if (!present.has(id)) report.lost++;
        else if ((await store.getRunEntries(id)).length !== ENTRIES_PER_RUN) report.torn++;
      }
      report.unacknowledgedPresent += present.size - acked.filter((id) => present.has(id)).length;
    } finally {
      await store.close();
    }
  }
  return report;
}
