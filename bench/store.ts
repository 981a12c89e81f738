// recordRun throughput: SQLite (baseline) vs PostgreSQL (fsync on), sequential and with
// concurrent writers, in the same run. Usage: node dist/bench/store.js [runs] [entries-per-run]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../server/store/open-store.js";
import type { RunRecord, Store } from "../server/store/store.js";
import { findPostgresBin, startPostgres } from "../harness/postgres-server.js";
import { median } from "./measure.js";

function run(client: string, entries: number): RunRecord {
  return {
    client,
    timestamp: Date.now(),
    state: "dirty",
    total: entries,
    good: entries - 2,
    bad: 1,
    modified: 1,
    extra: 0,
    revision: "bench",
    dryRun: false,
    flags: { dryrun: "False" },
    timings: { start: Date.now() / 1000, finished: Date.now() / 1000 + 1 },
    entries: Array.from({ length: entries }, (_, i) => ({
      kind: i === 0 ? ("bad" as const) : i === 1 ? ("modified" as const) : ("good" as const),
      tag: "Path",
      name: `/etc/conf.d/file${i}`,
      attrs: { type: "file", owner: "root", group: "root", mode: "0644", current_owner: "root" },
      diff: i === 0 ? "--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new\n" : undefined,
    })),
  };
}

/** Runs per second for `total` recordRun calls spread over `writers` concurrent loops. */
async function throughput(store: Store, total: number, entries: number, writers: number): Promise<number> {
  const perWriter = Math.ceil(total / writers);
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) await store.recordRun(run(`client${w}`, entries));
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  return (perWriter * writers) / seconds;
}

interface Config {
  name: string;
  store: Store;
  writers: number;
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 1000);
  const entries = Number(process.argv[3] ?? 20);
  const rounds = 3;
  console.log(`recordRun, ${total} runs of ${entries} entries per measurement, durable commits on both engines,`);
  console.log(`median of ${rounds} interleaved rounds after a warm-up that grows the SQLite WAL to its working size`);
  const dir = await mkdtemp(join(tmpdir(), "vacfg-bench-store-"));
  const server = findPostgresBin() ? await startPostgres({ durable: true }) : undefined;
  const stores: Store[] = [];
  try {
    const sqlite = await openStore(`sqlite:${join(dir, "store.db")}`);
    stores.push(sqlite);
    // SQLite is synchronous in-process: concurrent callers just queue, shown for comparison.
    const configs: Config[] = [
      { name: "sqlite, 1 writer", store: sqlite, writers: 1 },
      { name: "sqlite, 8 writers", store: sqlite, writers: 8 },
    ];
    if (server) {
      const pgStore = await openStore(server.url);
      stores.push(pgStore);
      configs.push({ name: "postgres, 1 writer", store: pgStore, writers: 1 }, { name: "postgres, 8 writers", store: pgStore, writers: 8 });
    } else {
      console.log("postgres skipped: PostgreSQL binaries not installed");
    }
    for (const s of stores) await throughput(s, 1500, entries, 1);
    const rates = new Map<string, number[]>(configs.map((c) => [c.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const c of configs) rates.get(c.name)!.push(await throughput(c.store, total, entries, c.writers));
    }
    const base = median(rates.get(configs[0].name)!);
    for (const c of configs) {
      const rate = median(rates.get(c.name)!);
      console.log(`${c.name.padEnd(22)} ${rate.toFixed(0).padStart(7)} runs/s   ratio vs sqlite 1 writer: ${(rate / base).toFixed(2)}`);
    }
  } finally {
    for (const s of stores) await s.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
