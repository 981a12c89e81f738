// The SQLite store's metadataVersion() is read from the database again only when the wal-index header
// says some connection committed (sqlite-wal-index.ts). It must still see, at once, every change of the
// counter made by another connection or another process, across checkpoints that restart the WAL, and
// this connection's own writes.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import Database from "better-sqlite3";
import { SqliteStore } from "../../../server/store/sqlite-store.js";
import { seededRandom } from "../../support/seeded-random.js";

describe("SQLite store: metadataVersion without a read transaction per call", function () {
  this.timeout(180_000);
  let dir: string;
  let path: string;
  let store: SqliteStore;
  let other: SqliteStore;
  let raw: Database.Database;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-metadata-version-"));
    path = join(dir, "store.db");
    store = SqliteStore.open(path);
    await store.migrate();
    other = SqliteStore.open(path); // another server process's connection
    raw = new Database(path);
    raw.pragma("busy_timeout = 10000");
  });
  afterEach(async () => {
    raw.close();
    await other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const truth = (): number => Number((raw.prepare("SELECT n FROM store_changes WHERE id = 1").get() as { n: number }).n);

  it("equals the counter after every commit of another connection, checkpoint and own write, in 600 random steps", async () => {
    const { rnd } = seededRandom(7);
    const rand = (n: number): number => Math.floor(rnd() * n);
    let moved = 0;
    for (let step = 0; step < 600; step++) {
      const before = truth();
      switch (rand(7)) {
        case 0:
          await other.upsertClient({ name: `o${rand(50)}`, profile: "web", firstSeen: step });
          break;
        case 1:
          await other.putProbeData({ client: `o${rand(50)}`, timestamp: step, groups: [], values: [{ name: "p", source: "s", value: String(step) }] });
          break;
        case 2:
          raw.pragma(rand(2) === 0 ? "wal_checkpoint(TRUNCATE)" : "wal_checkpoint(RESTART)");
          break;
        case 3:
          await store.upsertClient({ name: `s${rand(50)}`, profile: "web", firstSeen: step });
          break;
        case 4:
          raw.prepare("UPDATE store_changes SET n = n + 1 WHERE id = 1").run();
          break;
        default:
          break; // nothing: the remembered value is answered
      }
      if (truth() !== before) moved++;
      expect(await store.metadataVersion(), `step ${step}`).to.equal(truth());
      expect(await store.metadataVersion(), `step ${step}, asked again`).to.equal(truth());
    }
    expect(moved).to.be.greaterThan(200);
  });

  it("sees a commit made by another process", async () => {
    const v = await store.metadataVersion();
    const script = `const D = require(${JSON.stringify(createRequire(import.meta.url).resolve("better-sqlite3"))}); const db = new D(${JSON.stringify(path)}); db.pragma("busy_timeout = 10000"); db.prepare("UPDATE store_changes SET n = n + 5 WHERE id = 1").run(); db.close();`;
    execFileSync(process.execPath, ["-e", script]);
    expect(await store.metadataVersion()).to.equal(v + 5);
  });
});
