// The embedded store: one SQLite file (WAL, group-committed writes acknowledged once fsynced) behind the Store interface.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type {
  PointRun,
  BucketQuery,
  ClientProbeData,
  ClientRegistration,
  DurationBucket,
  MemberKind,
  RunProblem,
  RunQuery,
  RunRecord,
  StatsEntry,
  StatsEntryKind,
  Store,
  StoredRun,
} from "./store.js";
import { SCHEMA_VERSION_DDL, SQLITE_DIALECT, pendingMigrations } from "./migrations.js";
import { SQL, durationsByBucketSql, latestRunsSql, listRunsSql, runProblemsSql, runsAtPointsSql, runMembersSql, runEntriesSql, RUN_ID_BATCH, type SqlWithParams } from "./store-sql.js";
import {
  clientParams,
  entryParams,
  fromJson,
  memberPairs,
  rowsToMembers,
  rowsToRunMembers,
  rowToPointRun,
  rowToClient,
  rowToDurationBucket,
  rowToEntry,
  rowToRunEntry,
  rowToRun,
  rowToRunProblem,
  runParams,
  toJson,
} from "./store-rows.js";
import { storeError, storeOp } from "./store-error.js";
import { WalIndexWatch } from "./sqlite-wal-index.js";
import { GroupCommit } from "./sqlite-group-commit.js";

type Row = Record<string, unknown>;

/** How long a writer waits for another process's write lock before failing (ms). */
const BUSY_TIMEOUT_MS = 10_000;

export class SqliteStore implements Store {
  readonly kind = "sqlite" as const;
  private readonly db: Database.Database;
  // Statements are prepared on first use: tables exist only after migrate().
  private readonly statements = new Map<string, Database.Statement>();
  /** Writes of one event-loop turn share a transaction (sqlite-group-commit.ts). */
  private readonly writes: GroupCommit;

  /** Commits by any connection seen from the -shm file (absent for ":memory:"). */
  private readonly walIndex?: WalIndexWatch;
  /** metadataVersion() as last read, for the wal-index header walIndex remembers. */
  private lastVersion = 0;

  private constructor(db: Database.Database, path: string) {
    this.db = db;
    this.writes = new GroupCommit(db, path === ":memory:" ? undefined : `${path}-wal`);
    if (path !== ":memory:") this.walIndex = new WalIndexWatch(`${path}-shm`);
  }

  /** Transactions committed and WAL fsyncs so far: fewer than the writes when they were grouped. */
  get groupCommits(): { commits: number; syncs: number } {
    return { commits: this.writes.commits, syncs: this.writes.syncs };
  }

  /** Opens (creating when missing) the database file; call migrate() before use. */
  static open(path: string): SqliteStore {
    try {
      if (path !== ":memory:") {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        // Statistics, probe data and sessions are private: the file is 0600 whatever the umask, and
        // SQLite gives its -wal and -shm files the database file's mode.
        closeSync(openSync(path, "a", 0o600));
        for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
      }
      const db = new Database(path);
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma("journal_mode = WAL");
      // NORMAL: a commit does not fsync the WAL; GroupCommit does, off the event loop, before any
      // write is acknowledged, so an acknowledged RecvStats survives a crash or power loss as with FULL.
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
      return new SqliteStore(db, path);
    } catch (e) {
      throw storeError("sqlite", `open ${path}`, e);
    }
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private op<T>(name: string, fn: () => T): Promise<T> {
    return storeOp("sqlite", name, fn);
  }

  /** A write: runs in its own savepoint of the next group commit and resolves once that is durable. */
  private write<T>(name: string, fn: () => T): Promise<T> {
    return storeOp("sqlite", name, () => this.writes.run(fn));
  }

  migrate(): Promise<void> {
    return this.op("migrate", () => {
      // IMMEDIATE takes the write lock first, so processes starting together apply each migration once.
      this.db
        .transaction(() => {
          this.db.exec(SCHEMA_VERSION_DDL);
          const applied = this.db.prepare(SQL.appliedVersions).all().map((r) => Number((r as Row).version));
          for (const m of pendingMigrations(applied)) {
            this.db.exec(m.sql(SQLITE_DIALECT));
            this.db.prepare(SQL.markApplied).run(m.version, m.name, Date.now());
          }
        })
        .immediate();
    });
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.writes.close();
    this.walIndex?.close();
    this.db.close();
  }

  upsertClient(c: ClientRegistration): Promise<void> {
    return this.write("upsertClient", () => {
      this.stmt(SQL.upsertClient).run(...clientParams(c));
    });
  }

  getClient(name: string): Promise<ClientRegistration | undefined> {
    return this.op("getClient", () => {
      const r = this.stmt(SQL.getClient).get(name) as Row | undefined;
      return r && rowToClient(r);
    });
  }

  listClients(): Promise<ClientRegistration[]> {
    return this.op("listClients", () => (this.stmt(SQL.listClients).all() as Row[]).map(rowToClient));
  }

  deleteClient(name: string): Promise<boolean> {
    return this.write("deleteClient", () => this.stmt(SQL.deleteClient).run(name).changes > 0);
  }

  /** The counter's value alone (pluck), no row object. */
  private versionStmt?: Database.Statement;

  /**
   * Asked before every cached GetConfig: read again only when some connection committed since the
   * last read (sqlite-wal-index.ts), or while this connection's own transaction is open (its writes
   * are not in the header yet).
   */
  metadataVersion(): Promise<number> {
    return this.op("metadataVersion", () => this.versionNow());
  }

  metadataVersionNow(): number | undefined {
    try {
      return this.versionNow();
    } catch {
      return undefined;
    }
  }

  private versionNow(): number {
    const wal = this.walIndex;
    if (wal === undefined || this.db.inTransaction) return this.readVersion();
    if (wal.unchanged()) return this.lastVersion;
    // The header was read before the counter: a commit in between shows as a change next time.
    this.lastVersion = this.readVersion();
    wal.remember();
    return this.lastVersion;
  }

  private readVersion(): number {
    return Number((this.versionStmt ??= this.db.prepare(SQL.metadataVersion).pluck()).get());
  }

  putProbeData(d: ClientProbeData): Promise<void> {
    // One savepoint (write()): the values and groups are replaced together or not at all.
    return this.write("putProbeData", () => {
      const groups = toJson(d.groups, "groups");
      this.stmt(SQL.deleteProbeValues).run(d.client);
      this.stmt(SQL.upsertProbeSet).run(d.client, groups, d.timestamp);
      d.values.forEach((v, i) => this.stmt(SQL.insertProbeValue).run(d.client, i, v.name, v.source, v.value));
    });
  }

  getProbeData(client: string): Promise<ClientProbeData | undefined> {
    return this.op("getProbeData", () => {
      const set = this.stmt(SQL.getProbeSet).get(client) as Row | undefined;
      if (!set) return undefined;
      const values = this.stmt(SQL.getProbeValues).all(client) as Array<{ name: string; source: string; value: string }>;
      return { client, values, groups: fromJson<string[]>(set.groups_json), timestamp: Number(set.received_at) };
    });
  }

  recordRun(run: RunRecord): Promise<number> {
    // One savepoint (write()): a run and its entries are stored together or not at all.
    return this.write("recordRun", () => {
      const { id } = this.stmt(SQL.insertRun).get(...runParams(run)) as { id: number };
      this.stmt(SQL.upsertNewestRun).run(run.client, id, run.timestamp);
      run.entries.forEach((e, i) => this.stmt(SQL.insertRunEntry).run(id, ...entryParams(e, i)));
      for (const [kind, name] of memberPairs(run)) this.stmt(SQL.insertRunMember).run(id, kind, name);
      return Number(id);
    });
  }

  listRuns(q?: RunQuery): Promise<StoredRun[]> {
    return this.op("listRuns", () => {
      const { sql, params } = listRunsSql(q);
      return (this.stmt(sql).all(...params) as Row[]).map(rowToRun);
    });
  }

  latestRuns(before?: number): Promise<StoredRun[]> {
    return this.op("latestRuns", () => {
      const { sql, params } = latestRunsSql(before);
      return (this.stmt(sql).all(...params) as Row[]).map(rowToRun);
    });
  }

  getRunEntries(runId: number): Promise<StatsEntry[]> {
    return this.op("getRunEntries", () => (this.stmt(SQL.getRunEntries).all(runId) as Row[]).map(rowToEntry));
  }

  getRunMembers(runId: number): Promise<{ groups: string[]; bundles: string[] }> {
    return this.op("getRunMembers", () => rowsToMembers(this.stmt(SQL.getRunMembers).all(runId) as Row[]));
  }

  private rows(q: SqlWithParams): Row[] {
    return this.stmt(q.sql).all(...q.params) as Row[];
  }

  /** A query over a list of run ids, in batches of RUN_ID_BATCH placeholders. */
  private rowsByRunIds(runIds: readonly number[], sql: (ids: readonly number[]) => SqlWithParams): Row[] {
    const out: Row[] = [];
    // Not through the statement cache: every batch length would be another statement.
    for (let i = 0; i < runIds.length; i += RUN_ID_BATCH) {
      const q = sql(runIds.slice(i, i + RUN_ID_BATCH));
      out.push(...(this.db.prepare(q.sql).all(...q.params) as Row[]));
    }
    return out;
  }

  runMembers(runIds: readonly number[], kind: MemberKind): Promise<Array<{ runId: number; name: string }>> {
    return this.op("runMembers", () => rowsToRunMembers(this.rowsByRunIds(runIds, (ids) => runMembersSql(ids, kind))));
  }

  runEntries(runIds: readonly number[], kind: StatsEntryKind): Promise<Array<{ runId: number; entry: StatsEntry }>> {
    return this.op("runEntries", () => this.rowsByRunIds(runIds, (ids) => runEntriesSql(ids, kind)).map(rowToRunEntry));
  }

  runsAtPoints(q: BucketQuery): Promise<PointRun[]> {
    return this.op("runsAtPoints", () => this.rows(runsAtPointsSql(q)).map(rowToPointRun));
  }

  durationsByBucket(q: BucketQuery): Promise<DurationBucket[]> {
    return this.op("durationsByBucket", () => this.rows(durationsByBucketSql(q)).map(rowToDurationBucket));
  }

  runProblems(q: RunQuery, maxRows: number): Promise<RunProblem[]> {
    return this.op("runProblems", () => this.rows(runProblemsSql(q, maxRows)).map(rowToRunProblem));
  }

  purgeRuns(before: number): Promise<number> {
    return this.write("purgeRuns", () => this.stmt(SQL.purgeRuns).run(before).changes);
  }

  put(kind: string, key: string, value: unknown): Promise<void> {
    return this.write("put", () => {
      this.stmt(SQL.putRecord).run(kind, key, toJson(value, `${kind}/${key}`));
    });
  }

  get<T>(kind: string, key: string): Promise<T | undefined> {
    return this.op("get", () => {
      const r = this.stmt(SQL.getRecord).get(kind, key) as Row | undefined;
      return r && fromJson<T>(r.value_json);
    });
  }

  list<T>(kind: string): Promise<Array<{ key: string; value: T }>> {
    return this.op("list", () =>
      (this.stmt(SQL.listRecords).all(kind) as Row[]).map((r) => ({ key: String(r.key), value: fromJson<T>(r.value_json) })),
    );
  }

  delete(kind: string, key: string): Promise<boolean> {
    return this.write("delete", () => this.stmt(SQL.deleteRecord).run(kind, key).changes > 0);
  }

  insertIfAbsent(kind: string, key: string, value: unknown): Promise<boolean> {
    return this.write("insertIfAbsent", () => {
      return this.stmt(SQL.insertRecordIfAbsent).run(kind, key, toJson(value, `${kind}/${key}`)).changes === 1;
    });
  }
}
