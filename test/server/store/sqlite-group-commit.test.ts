// The SQLite store's group commit: writes of one event-loop turn share one transaction (one fsync),
// each is durable (seen by another connection) when it resolves, and close() commits what is queued.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import Database from "better-sqlite3";
import { SqliteStore } from "../../../server/store/sqlite-store.js";
import { makeRun } from "../../support/run-record.js";

describe("SQLite store: group commit", function () {
  let dir: string;
  let path: string;
  let store: SqliteStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-group-commit-"));
    path = join(dir, "store.db");
    store = SqliteStore.open(path);
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What another connection (another server process) sees. */
  const count = (sql: string): number => {
    const db = new Database(path, { readonly: true });
    try {
      return Number((db.prepare(sql).get() as { n: number }).n);
    } finally {
      db.close();
    }
  };

  it("writes issued in one turn share one commit, and each is visible to another connection when it resolves", async () => {
    const before = store.groupCommits;
    const runs = Array.from({ length: 100 }, (_, i) => store.recordRun(makeRun(`c${i}`, i)));
    const clients = Array.from({ length: 100 }, (_, i) => store.upsertClient({ name: `c${i}`, profile: "web", firstSeen: i }));
    const first = await runs[0];
    expect(count("SELECT COUNT(*) AS n FROM runs"), "the first write resolved: the whole batch is committed").to.equal(100);
    expect(count("SELECT COUNT(*) AS n FROM clients"), "the batch holds every write of the turn").to.equal(100);
    await Promise.all([...runs, ...clients]);
    expect(store.groupCommits.commits - before.commits, "one transaction for 200 writes").to.equal(1);
    expect(store.groupCommits.syncs - before.syncs, "one WAL fsync for 200 writes").to.equal(1);
    expect(first).to.be.a("number");
    // Writes in separate turns are separate commits (nothing waits for company).
    await store.put("k", "a", 1);
    await store.put("k", "b", 2);
    expect(store.groupCommits.commits - before.commits).to.equal(3);
    expect(store.groupCommits.syncs - before.syncs, "each write resolves after its own commit's fsync").to.equal(3);
  });

  it("close() commits writes still queued", async () => {
    const pending = store.put("vm", "v1", { mem: 512 });
    await store.close();
    await pending;
    expect(count("SELECT COUNT(*) AS n FROM records WHERE kind = 'vm'")).to.equal(1);
  });
});
