// The SQLite store's group commit: writes of one event-loop turn (or of the turns a WAL fsync lasts) share one transaction,
// each is durable (seen by another connection) when it resolves, and close() commits what is queued.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
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

  it("writes issued in separate turns while a WAL fsync runs share one commit when it ends", async () => {
    const before = store.groupCommits;
    const writes = [store.put("k", "w0", 0)];
    await nextTurn(); // the first write is committed and its fsync started
    // One write per turn for as long as that fsync runs (its end counts it in `syncs`).
    let during = 0;
    while (store.groupCommits.syncs === before.syncs && during < 200) {
      writes.push(store.put("k", `w${++during}`, during));
      await nextTurn();
    }
    await Promise.all(writes);
    expect(during, "writes issued while the first fsync ran").to.be.at.least(1);
    expect(store.groupCommits.commits - before.commits, `${during} writes in ${during} turns during the fsync: one commit after it`).to.equal(2);
    expect(count("SELECT COUNT(*) AS n FROM records WHERE kind = 'k'")).to.equal(during + 1);
  });

  it("close() commits writes still queued", async () => {
    const pending = store.put("vm", "v1", { mem: 512 });
    await store.close();
    await pending;
    expect(count("SELECT COUNT(*) AS n FROM records WHERE kind = 'vm'")).to.equal(1);
  });
});
