// Durability check (not a timed test): a real vacfg server process receives RecvStats on 4 streams
// and is SIGKILLed at a random moment, 100 times per engine; an acknowledged run missing from the
// store afterwards is a loss (must be 0). Prints acknowledged/lost and, as the baseline measured in
// the same run, the SQLite/PostgreSQL ratio of acknowledged runs per second of stream.
// Usage: node dist/bench/stats-durability.js [trials=100]
import { join } from "node:path";
import { findPostgresBin, startPostgres } from "../harness/postgres-server.js";
import { statsDurabilityTrials, type StatsDurabilityReport } from "../harness/stats-durability.js";
import { ADMIN_PASSWORD, makeSite, SITE_PASSWORD } from "../harness/report-site.js";

async function main(): Promise<void> {
  const trials = Number(process.argv[2] ?? 100);
  const site = makeSite();
  const env = { VACFG_SITE_PASSWORD: SITE_PASSWORD, VACFG_ADMIN_PASSWORD: ADMIN_PASSWORD };
  const results: Array<[string, StatsDurabilityReport, number]> = [];
  let failed = false;
  try {
    const engines: Array<[string, () => Promise<{ url: string; stop(): Promise<void> }>]> = [
      ["sqlite", async () => ({ url: `sqlite:${join(site.dir, "durable.db")}`, stop: async () => undefined })],
    ];
    if (findPostgresBin()) engines.push(["postgres", () => startPostgres({ durable: true })]);
    else console.log("postgres   skipped: PostgreSQL is not installed");
    for (const [engine, open] of engines) {
      const db = await open();
      const t0 = Date.now();
      try {
        const r = await statsDurabilityTrials({ configPath: site.configPath, storeUrl: db.url, ca: site.config.tls.ca, password: SITE_PASSWORD, env, trials, logFile: join(site.dir, `${engine}.log`) });
        const s = (Date.now() - t0) / 1000;
        results.push([engine, r, s]);
        console.log(`${engine.padEnd(10)} trials=${r.trials} acknowledged=${r.acknowledged} lost=${r.lost} stored-unacknowledged=${r.unacknowledgedPresent} (${s.toFixed(1)} s)`);
        if (r.lost > 0) failed = true;
      } finally {
        await db.stop();
      }
    }
    if (results.length === 2) {
      const rate = (x: [string, StatsDurabilityReport, number]): number => x[1].acknowledged / x[1].trials;
      console.log(`acknowledged runs per trial: sqlite ${rate(results[0]).toFixed(1)}, postgres ${rate(results[1]).toFixed(1)}, ratio sqlite/postgres ${(rate(results[0]) / rate(results[1])).toFixed(2)}`);
    }
  } finally {
    site.cleanup();
  }
  console.log(failed ? "FAIL: acknowledged runs were lost" : "OK: no acknowledged run lost");
  process.exitCode = failed ? 1 : 0;
}

await main();
