// Group commit for the embedded store. With synchronous=FULL every commit fsyncs the WAL, and
// better-sqlite3 waits for that on the event loop: thousands of clients each committing their
// registration, probe data and run one by one spend most of the server's time in fsync. Writes
// that arrive in the same turn of the event loop share one transaction (one fsync); each resolves
// only after that commit. Each write runs in its own savepoint, so one that fails is rolled back
// and rejected alone; a commit that fails rejects every write of the batch (none is stored).
import type Database from "better-sqlite3";

interface Queued {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;
  /** Transactions committed (each one fsync of the WAL): fewer than writes when they were grouped. */
  commits = 0;

  constructor(private readonly db: Database.Database) {}

  /** Runs `fn` (synchronous statements) in the next group transaction; resolves after the commit. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the I/O callbacks of this turn: every request read in it has queued its write.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued now (also called before the database closes). */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: Outcome[] = [];
    try {
      // IMMEDIATE: the write lock is taken (or waited for, busy_timeout) before any write runs.
      this.db
        .transaction(() => {
          for (const q of batch) {
            try {
              outcomes.push({ ok: true, value: this.db.transaction(q.fn)() });
            } catch (error) {
              // Some errors (disk full, I/O) make SQLite roll back the whole transaction: nothing of the batch is stored.
              if (!this.db.inTransaction) throw error;
              outcomes.push({ ok: false, error });
            }
          }
        })
        .immediate();
      this.commits++;
    } catch (error) {
      for (const q of batch) q.reject(error);
      return;
    }
    batch.forEach((q, i) => {
      const o = outcomes[i];
      if (o.ok) q.resolve(o.value);
      else q.reject(o.error);
    });
  }
}
