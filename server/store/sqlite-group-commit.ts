// Group commit for the embedded store. Thousands of clients each committing their registration,
// probe data and run one by one, each commit waiting for an fsync on the event loop (better-sqlite3
// is synchronous), leave the server busy with fsync. Here:
// - writes that arrive in the same turn of the event loop (or while a WAL fsync runs) share one transaction; each runs in its
//   own savepoint, so one that fails is rolled back and rejected alone, and a commit that fails
//   rejects every write of the batch (none is stored);
// - the database runs with synchronous=NORMAL (a commit writes the WAL without fsync) and the WAL
//   is fdatasynced here, off the event loop; a write resolves only after an fsync that began after
//   its commit. So an acknowledged write survives power loss as with synchronous=FULL (SQLite
//   recovers every commit whose frames reached the disk; checkpoints still sync the WAL and the
//   database themselves), and commits made while an fsync runs share the next one.
import { closeSync, fdatasync, fstatSync, openSync, statSync } from "node:fs";
import { promisify } from "node:util";
import type Database from "better-sqlite3";

const fdatasyncAsync = promisify(fdatasync);

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Queued extends Waiter {
  fn: () => unknown;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;
  /** Committed writes waiting for the next WAL fsync, with their results. */
  private unsynced: Array<() => void> = [];
  private failUnsynced: Array<(e: unknown) => void> = [];
  private syncing?: Promise<void>;
  private wal?: { fd: number; ino: number };
  /** Transactions committed so far; fewer than writes when they were grouped. */
  commits = 0;
  /** WAL fsyncs so far; fewer than commits when commits shared one. */
  syncs = 0;

  /**
   * One write's savepoint, prepared once: a better-sqlite3 transaction function made per write cost
   * more than the write's own statements (bench/scale: 2.5 % of the server's time).
   */
  private readonly savepoint: { begin: Database.Statement; release: Database.Statement; rollback: Database.Statement };
  /** The batch's transaction (IMMEDIATE: the write lock is taken, or waited for, before any write runs). */
  private readonly commitBatch: (batch: Queued[], outcomes: Outcome[]) => void;

  /** `walPath` is the database's -wal file; undefined for an in-memory database (nothing to sync). */
  constructor(
    private readonly db: Database.Database,
    private readonly walPath: string | undefined,
  ) {
    this.savepoint = { begin: db.prepare("SAVEPOINT vacfg_write"), release: db.prepare("RELEASE vacfg_write"), rollback: db.prepare("ROLLBACK TO vacfg_write") };
    this.commitBatch = db.transaction((batch: Queued[], outcomes: Outcome[]) => {
      for (const q of batch) outcomes.push(this.runOne(q.fn));
    }).immediate;
  }

  /** One write in its own savepoint: rolled back alone when it throws. */
  private runOne(fn: () => unknown): Outcome {
    this.savepoint.begin.run();
    try {
      const value = fn();
      if (value instanceof Promise) throw new TypeError("a store write must be synchronous statements");
      this.savepoint.release.run();
      return { ok: true, value };
    } catch (error) {
      // Some errors (disk full, I/O) make SQLite roll back the whole transaction: nothing of the batch is stored.
      if (!this.db.inTransaction) throw error;
      this.savepoint.rollback.run();
      this.savepoint.release.run();
      return { ok: false, error };
    }
  }

  /** Runs `fn` (synchronous statements) in the next group transaction; resolves once that is durable. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      // While a WAL fsync runs, a write waits for it to end anyway (then for the next one): the writes
      // of every turn meanwhile are committed together when it ends, one transaction instead of one per
      // turn (each commit writes every page it touched to the WAL again: with 100,000 clients, ~48 page
      // writes per client run).
      if (!this.scheduled && !this.syncing) {
        this.scheduled = true;
        // setImmediate runs after the I/O callbacks of this turn: every request read in it has queued its write.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued now; its writes resolve after the next WAL fsync. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: Outcome[] = [];
    try {
      this.commitBatch(batch, outcomes);
      this.commits++;
    } catch (error) {
      for (const q of batch) q.reject(error);
      return;
    }
    batch.forEach((q, i) => {
      const o = outcomes[i];
      if (!o.ok) q.reject(o.error); // rolled back: nothing to wait for
      else if (this.walPath === undefined) q.resolve(o.value);
      else {
        this.unsynced.push(() => q.resolve(o.value));
        this.failUnsynced.push(q.reject);
      }
    });
    this.startSync();
  }

  /** Commits what is queued and waits until every committed write is on disk; then the WAL is let go. */
  async close(): Promise<void> {
    this.flush();
    while (this.syncing) await this.syncing;
    if (this.wal) closeSync(this.wal.fd);
    this.wal = undefined;
  }

  private startSync(): void {
    if (this.syncing || this.unsynced.length === 0) return;
    const done = this.unsynced;
    const failed = this.failUnsynced;
    this.unsynced = [];
    this.failUnsynced = [];
    this.syncing = this.syncWal().then(
      () => done.forEach((f) => f()),
      (e: unknown) => failed.forEach((f) => f(e)),
    );
    void this.syncing.finally(() => {
      this.syncing = undefined;
      if (this.queue.length > 0) this.flush(); // commits what waited and starts the next fsync
      this.startSync();
    });
  }

  private async syncWal(): Promise<void> {
    let ino: number;
    try {
      ino = statSync(this.walPath!).ino;
    } catch (e) {
      // No WAL: the last checkpoint moved every commit into the database file and synced it.
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    if (this.wal?.ino !== ino) {
      if (this.wal) closeSync(this.wal.fd);
      const fd = openSync(this.walPath!, "r");
      this.wal = { fd, ino: fstatSync(fd).ino };
    }
    await fdatasyncAsync(this.wal.fd);
    this.syncs++;
  }
}
