// The shared store for several server processes: PostgreSQL through a pg Pool, behind the Store interface.
import pg from "pg";
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
import { POSTGRES_DIALECT, SCHEMA_VERSION_DDL, pendingMigrations } from "./migrations.js";
import { SQL, NEWEST_RUN_CONFLICT, listRunsSql, toPgParams } from "./store-sql.js";
import { durationsByBucketPgSql, latestRunsPgSql, runEntriesPgSql, runMembersPgSql, runProblemsPgSql, runsAtPointsPgSql } from "./store-sql-pg.js";
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
import { storeOp } from "./store-error.js";

type Row = Record<string, unknown>;

/** Advisory lock id held while migrating ("vacfg" in ASCII), so concurrent starts apply each version once. */
const MIGRATE_LOCK_ID = 0x7661636667;

// A run, its entries and its groups and bundles go in ONE statement (one round trip, atomic on
// its own): entry and member columns travel as parallel arrays and are unnested against the new run's id.
const RECORD_RUN_SQL =
  `WITH run AS (${toPgParams(SQL.insertRun)}), ` +
  "entries AS (INSERT INTO run_entries (run_id, ord, kind, tag, name, attrs_json, diff) " +
  "SELECT run.id, e.ord, e.kind, e.tag, e.name, e.attrs_json, e.diff FROM run, " +
  "unnest($14::int[], $15::text[], $16::text[], $17::text[], $18::text[], $19::bytea[]) " +
  "AS e(ord, kind, tag, name, attrs_json, diff)), " +
  "members AS (INSERT INTO run_members (run_id, kind, name) SELECT run.id, m.kind, m.name FROM run, " +
  "unnest($20::text[], $21::text[]) AS m(kind, name)), " +
  `newest AS (INSERT INTO newest_runs (client, run_id, received_at) SELECT $1, run.id, $2 FROM run ${NEWEST_RUN_CONFLICT}) SELECT id FROM run`;

/**
 * The server closed a pooled connection (restart, failover, pg_terminate_backend): the pool may
 * hand out such a connection once more before it notices. Nothing was committed on it unless
 * COMMIT itself failed that way, which is then reported, never retried.
 */
function droppedConnection(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return (typeof code === "string" && (code.startsWith("57P") || code.startsWith("08"))) || (e instanceof Error && /Connection terminated/i.test(e.message));
}

/** Errors of a COMMIT whose outcome is unknown: never retried. */
const failedCommits = new WeakSet<object>();

/** Runs `fn` again once, on a fresh connection, when its connection had been dropped before it ran. */
async function withReconnect<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!droppedConnection(e) || (typeof e === "object" && e !== null && failedCommits.has(e))) throw e;
    return await fn();
  }
}

export class PostgresStore implements Store {
  readonly kind = "postgres" as const;
  private readonly pool: pg.Pool;
  private closed = false;

  constructor(url: string, options: Omit<pg.PoolConfig, "connectionString"> = {}) {
    // The store's statements are short: compiling one with JIT (on by default, for plans the planner
    // costs high, such as the charts' thousands of index seeks) takes longer than running it. An
    // `options` parameter in the URL replaces this one.
    this.pool = new pg.Pool({ connectionString: url, options: "-c jit=off", ...options });
    // An idle connection dropped by the server must not crash the process; the pool replaces it.
    this.pool.on("error", () => undefined);
  }

  private op<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return storeOp("postgres", name, fn);
  }

  private async query(sql: string, params: unknown[] = []): Promise<Row[]> {
    return withReconnect(async () => (await this.pool.query(toPgParams(sql), params)).rows);
  }

  /** Runs fn in one transaction on one pooled connection. */
  private transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return withReconnect(async () => {
      const c = await this.pool.connect();
      // A connection the server drops while it is checked out emits "error" on the client; the
      // failing query rejects with the same error, so the event needs no handler but must not throw.
      const ignore = (): void => undefined;
      c.on("error", ignore);
      try {
        await c.query("BEGIN");
        const result = await fn(c);
        await c.query("COMMIT").catch((e: unknown) => {
          if (typeof e === "object" && e !== null) failedCommits.add(e);
          throw e;
        });
        c.off("error", ignore);
        c.release();
        return result;
      } catch (e) {
        await c.query("ROLLBACK").catch(() => undefined);
        c.off("error", ignore);
        c.release(e instanceof Error ? e : true);
        throw e;
      }
    });
  }

  migrate(): Promise<void> {
    return this.op("migrate", () =>
      this.transaction(async (c) => {
        // Transaction-scoped: released at COMMIT/ROLLBACK, or when a crashed process's session ends.
        await c.query("SELECT pg_advisory_xact_lock($1)", [MIGRATE_LOCK_ID]);
        await c.query(SCHEMA_VERSION_DDL);
        const applied = (await c.query(SQL.appliedVersions)).rows.map((r) => Number(r.version));
        for (const m of pendingMigrations(applied)) {
          await c.query(m.sql(POSTGRES_DIALECT));
          await c.query(toPgParams(SQL.markApplied), [m.version, m.name, Date.now()]);
        }
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  upsertClient(c: ClientRegistration): Promise<void> {
    return this.op("upsertClient", async () => {
      await this.query(SQL.upsertClient, clientParams(c));
    });
  }

  getClient(name: string): Promise<ClientRegistration | undefined> {
    return this.op("getClient", async () => {
      const [r] = await this.query(SQL.getClient, [name]);
      return r && rowToClient(r);
    });
  }

  listClients(): Promise<ClientRegistration[]> {
    return this.op("listClients", async () => (await this.query(SQL.listClients)).map(rowToClient));
  }

  deleteClient(name: string): Promise<boolean> {
    return this.op("deleteClient", async () => ((await this.pool.query(toPgParams(SQL.deleteClient), [name])).rowCount ?? 0) > 0);
  }

  metadataVersion(): Promise<number> {
    return this.op("metadataVersion", async () => Number((await this.query(SQL.metadataVersion))[0].n));
  }

  putProbeData(d: ClientProbeData): Promise<void> {
    return this.op("putProbeData", () => {
      const groups = toJson(d.groups, "groups");
      return this.transaction(async (c) => {
        // Lock the client's row first so two concurrent replacements serialize instead of interleaving.
        await c.query(toPgParams(SQL.upsertProbeSet), [d.client, groups, d.timestamp]);
        await c.query(toPgParams(SQL.deleteProbeValues), [d.client]);
        for (const [i, v] of d.values.entries()) {
          await c.query(toPgParams(SQL.insertProbeValue), [d.client, i, v.name, v.source, v.value]);
        }
      });
    });
  }

  getProbeData(client: string): Promise<ClientProbeData | undefined> {
    return this.op("getProbeData", () =>
      // One snapshot for both reads, so a concurrent replacement is seen whole or not at all.
      this.transaction(async (c) => {
        await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        const [set] = (await c.query(toPgParams(SQL.getProbeSet), [client])).rows;
        if (!set) return undefined;
        const values = (await c.query(toPgParams(SQL.getProbeValues), [client])).rows;
        return { client, values, groups: fromJson<string[]>(set.groups_json), timestamp: Number(set.received_at) };
      }),
    );
  }

  recordRun(run: RunRecord): Promise<number> {
    return this.op("recordRun", async () => {
      const cols: unknown[][] = [[], [], [], [], [], []];
      run.entries.forEach((e, i) => entryParams(e, i).forEach((v, j) => cols[j].push(v)));
      const members = memberPairs(run);
      const [r] = await this.query(RECORD_RUN_SQL, [...runParams(run), ...cols, members.map((m) => m[0]), members.map((m) => m[1])]);
      return Number(r.id);
    });
  }

  listRuns(q?: RunQuery): Promise<StoredRun[]> {
    return this.op("listRuns", async () => {
      const { sql, params } = listRunsSql(q);
      return (await this.query(sql, params)).map(rowToRun);
    });
  }

  latestRuns(before?: number): Promise<StoredRun[]> {
    return this.op("latestRuns", async () => {
      const { sql, params } = latestRunsPgSql(before);
      return (await this.query(sql, params)).map(rowToRun);
    });
  }

  getRunMembers(runId: number): Promise<{ groups: string[]; bundles: string[] }> {
    return this.op("getRunMembers", async () => rowsToMembers(await this.query(SQL.getRunMembers, [runId])));
  }

  runMembers(runIds: readonly number[], kind: MemberKind): Promise<Array<{ runId: number; name: string }>> {
    return this.op("runMembers", async () => {
      const q = runMembersPgSql(runIds, kind);
      return rowsToRunMembers(await this.query(q.sql, q.params));
    });
  }

  runsAtPoints(q: BucketQuery): Promise<PointRun[]> {
    return this.op("runsAtPoints", async () => {
      const { sql, params } = runsAtPointsPgSql(q);
      return (await this.query(sql, params)).map(rowToPointRun);
    });
  }

  durationsByBucket(q: BucketQuery): Promise<DurationBucket[]> {
    return this.op("durationsByBucket", async () => {
      const { sql, params } = durationsByBucketPgSql(q);
      return (await this.query(sql, params)).map(rowToDurationBucket);
    });
  }

  runProblems(q: RunQuery, maxRows: number): Promise<RunProblem[]> {
    return this.op("runProblems", async () => {
      const { sql, params } = runProblemsPgSql(q, maxRows);
      return (await this.query(sql, params)).map(rowToRunProblem);
    });
  }

  purgeRuns(before: number): Promise<number> {
    return this.op("purgeRuns", async () => (await this.pool.query(toPgParams(SQL.purgeRuns), [before])).rowCount ?? 0);
  }

  getRunEntries(runId: number): Promise<StatsEntry[]> {
    return this.op("getRunEntries", async () => (await this.query(SQL.getRunEntries, [runId])).map(rowToEntry));
  }

  runEntries(runIds: readonly number[], kind: StatsEntryKind): Promise<Array<{ runId: number; entry: StatsEntry }>> {
    return this.op("runEntries", async () => {
      const q = runEntriesPgSql(runIds, kind);
      return (await this.query(q.sql, q.params)).map(rowToRunEntry);
    });
  }

  put(kind: string, key: string, value: unknown): Promise<void> {
    return this.op("put", async () => {
      await this.query(SQL.putRecord, [kind, key, toJson(value, `${kind}/${key}`)]);
    });
  }

  get<T>(kind: string, key: string): Promise<T | undefined> {
    return this.op("get", async () => {
      const [r] = await this.query(SQL.getRecord, [kind, key]);
      return r && fromJson<T>(r.value_json);
    });
  }

  list<T>(kind: string): Promise<Array<{ key: string; value: T }>> {
    return this.op("list", async () =>
      (await this.query(SQL.listRecords, [kind])).map((r) => ({ key: String(r.key), value: fromJson<T>(r.value_json) })),
    );
  }

  delete(kind: string, key: string): Promise<boolean> {
    return this.op("delete", async () => (await this.pool.query(toPgParams(SQL.deleteRecord), [kind, key])).rowCount! > 0);
  }

  insertIfAbsent(kind: string, key: string, value: unknown): Promise<boolean> {
    return this.op("insertIfAbsent", async () => {
      const r = await this.pool.query(toPgParams(SQL.insertRecordIfAbsent), [kind, key, toJson(value, `${kind}/${key}`)]);
      return r.rowCount === 1;
    });
  }
}
