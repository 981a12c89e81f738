// Durability check (not a timed test): SIGKILLs a recordRun writer at random moments, 100 times per
// engine, and counts acknowledged runs missing after reopening (must be 0). Exit 1 on any loss.
// Usage: node dist/bench/store-durability.js [trials]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { durabilityTrials, type DurabilityReport } from "../harness/store-durability.js";
import { findPostgresBin, startPostgres } from "../harness/postgres-server.js";

function print(engine: string, r: DurabilityReport, ms: number): void {
  console.log(
    `${engine.padEnd(10)} trials=${r.trials} acknowledged=${r.acknowledged} lost=${r.lost} torn=${r.torn} ` +
      `committed-unacknowledged=${r.unacknowledgedPresent} (${(ms / 1000).toFixed(1)} s)`,
  );
}

async function main(): Promise<void> {
  const trials = Number(process.argv[2] ?? 100);
  let failed = false;
  const dir = await mkdtemp(join(tmpdir(), "vacfg-durability-"));
  try {
    let t = Date.now();
    const s = await durabilityTrials(`sqlite:${join(dir, "store.db")}`, trials);
    print("sqlite", s, Date.now() - t);
    failed ||= s.lost + s.torn > 0;
    if (!findPostgresBin()) {
      console.log("postgres   skipped: PostgreSQL binaries not installed");
      return;
    }
    const server = await startPostgres({ durable: true });
    try {
      t = Date.now();
      const p = await durabilityTrials(server.url, trials);
      print("postgres", p, Date.now() - t);
      failed ||= p.lost + p.torn > 0;
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    process.exitCode = failed ? 1 : 0;
  }
}

await main();
