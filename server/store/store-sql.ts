// The SQL both engines run, written once with `?` placeholders (PostgreSQL gets $n via toPgParams).
import type { BucketQuery, MemberKind, RunQuery, StatsEntryKind } from "./store.js";

/** newest_runs keeps a client's run with the greatest (received_at, id): one received out of order leaves it. */
export const NEWEST_RUN_CONFLICT =
  "ON CONFLICT (client) DO UPDATE SET run_id = excluded.run_id, received_at = excluded.received_at " +
  "WHERE excluded.received_at > newest_runs.received_at OR (excluded.received_at = newest_runs.received_at AND excluded.run_id > newest_runs.run_id)";

export const SQL = {
  upsertClient:
    "INSERT INTO clients (name, profile, first_seen, version) VALUES (?, ?, ?, ?) " +
    // first_seen keeps the first sighting; a declaration without a version keeps the known one.
    "ON CONFLICT (name) DO UPDATE SET profile = excluded.profile, version = COALESCE(excluded.version, clients.version)",
  getClient: "SELECT name, profile, first_seen, version FROM clients WHERE name = ?",
  listClients: "SELECT name, profile, first_seen, version FROM clients ORDER BY name",
  deleteClient: "DELETE FROM clients WHERE name = ?",

  deleteProbeValues: "DELETE FROM probe_values WHERE client = ?",
  upsertProbeSet:
    "INSERT INTO probe_sets (client, groups_json, received_at) VALUES (?, ?, ?) " +
    "ON CONFLICT (client) DO UPDATE SET groups_json = excluded.groups_json, received_at = excluded.received_at",
  insertProbeValue: "INSERT INTO probe_values (client, ord, name, source, value) VALUES (?, ?, ?, ?, ?)",
  getProbeSet: "SELECT client, groups_json, received_at FROM probe_sets WHERE client = ?",
  getProbeValues: "SELECT name, source, value FROM probe_values WHERE client = ? ORDER BY ord",

  insertRun:
    "INSERT INTO runs (client, received_at, state, total, good, bad, modified, extra, revision, dry_run, flags_json, timings_json, duration_s) " +
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
  insertRunMember: "INSERT INTO run_members (run_id, kind, name) VALUES (?, ?, ?)",
  upsertNewestRun: `INSERT INTO newest_runs (client, run_id, received_at) VALUES (?, ?, ?) ${NEWEST_RUN_CONFLICT}`,
  getRunMembers: "SELECT kind, name FROM run_members WHERE run_id = ? ORDER BY kind, name",
  insertRunEntry: "INSERT INTO run_entries (run_id, ord, kind, tag, name, attrs_json, diff) VALUES (?, ?, ?, ?, ?, ?, ?)",
  getRunEntries: "SELECT kind, tag, name, attrs_json, diff FROM run_entries WHERE run_id = ? ORDER BY ord",
  // Entries go with their run (ON DELETE CASCADE); each client's newest run stays.
  purgeRuns: "DELETE FROM runs WHERE received_at < ? AND id NOT IN (SELECT run_id FROM newest_runs)",

  putRecord:
    "INSERT INTO records (kind, key, value_json) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET value_json = excluded.value_json",
  insertRecordIfAbsent: "INSERT INTO records (kind, key, value_json) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO NOTHING",
  getRecord: "SELECT value_json FROM records WHERE kind = ? AND key = ?",
  listRecords: "SELECT key, value_json FROM records WHERE kind = ? ORDER BY key",
  deleteRecord: "DELETE FROM records WHERE kind = ? AND key = ?",

  metadataVersion: "SELECT n FROM store_changes WHERE id = 1",

  appliedVersions: "SELECT version FROM schema_version ORDER BY version",
  markApplied: "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
} as const;

export const RUN_COLUMNS =
  "id, client, received_at, state, total, good, bad, modified, extra, revision, dry_run, flags_json, timings_json, duration_s";

export interface SqlWithParams {
  sql: string;
  params: unknown[];
}

/** Runs newest first, filtered by client and "as of" time. */
export function listRunsSql(q: RunQuery = {}): SqlWithParams {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.client !== undefined) {
    where.push("client = ?");
    params.push(q.client);
  }
  if (q.after !== undefined) {
    where.push("received_at > ?");
    params.push(q.after);
  }
  if (q.before !== undefined) {
    where.push("received_at <= ?");
    params.push(q.before);
  }
  let sql = `SELECT ${RUN_COLUMNS} FROM runs`;
  if (where.length) sql += ` WHERE ${where.join(" AND ")}`;
  sql += " ORDER BY received_at DESC, id DESC";
  if (q.limit !== undefined) {
    sql += " LIMIT ?";
    params.push(q.limit);
  }
  return { sql, params };
}

/** The id of client `c.client`'s newest run at or before the time expression `at`: one index seek. */
const newestIdAt = (at: string): string =>
  `(SELECT id FROM runs n WHERE n.client = c.client AND n.received_at <= ${at} ORDER BY n.received_at DESC, n.id DESC LIMIT 1)`;

/**
 * The newest run per client (as of `before`), by client name: newest_runs holds each client's newest
 * run; only a client whose newest run is after `before` needs a seek for an older one.
 */
export function latestRunsSql(before?: number): SqlWithParams {
  if (before === undefined) return { sql: `SELECT ${RUN_COLUMNS} FROM runs WHERE id IN (SELECT run_id FROM newest_runs) ORDER BY client`, params: [] };
  return {
    sql: `SELECT ${RUN_COLUMNS} FROM runs WHERE id IN (SELECT CASE WHEN c.received_at <= ? THEN c.run_id ELSE ${newestIdAt("?")} END FROM newest_runs c) ORDER BY client`,
    params: [before, before],
  };
}

/** How many run ids one runMembers or runEntries query names on SQLite (well under its parameter limit; PostgreSQL passes one array). */
export const RUN_ID_BATCH = 500;

/** The groups or bundles of up to RUN_ID_BATCH runs, by primary key. */
export function runMembersSql(runIds: readonly number[], kind: MemberKind): SqlWithParams {
  return {
    sql: `SELECT run_id, name FROM run_members WHERE kind = ? AND run_id IN (${runIds.map(() => "?").join(", ")})`,
    params: [kind, ...runIds],
  };
}

/** The entries of one kind of up to RUN_ID_BATCH runs, by primary key, in each run's order. */
export function runEntriesSql(runIds: readonly number[], kind: StatsEntryKind): SqlWithParams {
  return {
    sql: `SELECT run_id, kind, tag, name, attrs_json, diff FROM run_entries WHERE kind = ? AND run_id IN (${runIds.map(() => "?").join(", ")}) ORDER BY run_id, ord`,
    params: [kind, ...runIds],
  };
}

// Bucket i of a window holds (from + i*step, from + (i+1)*step]. SQLite binds JS numbers as REAL,
// so the quotient is cast (received_at > from keeps it positive, where a cast is a floor); the
// durations scan the window's runs by the covering index runs_time_duration.
const BUCKET = "CAST((received_at - ? - 1) / ? AS BIGINT)";

/** 1 when the run (alias r) carries the filter's group or bundle; 1 without a filter. */
export function memberFlag(q: BucketQuery): SqlWithParams {
  if (!q.member) return { sql: "1", params: [] };
  return {
    sql: "CASE WHEN EXISTS (SELECT 1 FROM run_members m WHERE m.run_id = r.id AND m.kind = ? AND m.name = ?) THEN 1 ELSE 0 END",
    params: [q.member.kind, q.member.name],
  };
}

/**
 * Each client's newest run at each point of the window (point i = from + (i+1)*step): clients ×
 * points index seeks, so the cost does not grow with the number of runs in the window.
 */
export function runsAtPointsSql(q: BucketQuery): SqlWithParams {
  const points = Math.ceil((q.to - q.from) / q.step);
  const flag = memberFlag(q);
  const client = q.client === undefined ? "" : " WHERE c.client = ?";
  // Point i is the end of bucket i, the last one cut at `to` (a window ending mid-bucket).
  const at = "CASE WHEN CAST(? AS BIGINT) + (p.i + 1) * CAST(? AS BIGINT) < CAST(? AS BIGINT) THEN CAST(? AS BIGINT) + (p.i + 1) * CAST(? AS BIGINT) ELSE CAST(? AS BIGINT) END";
  const sql =
    "WITH RECURSIVE points(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM points WHERE i + 1 < ?), " +
    `at_points(point, id) AS (SELECT p.i, ${newestIdAt(at)} ` +
    `FROM points p CROSS JOIN newest_runs c${client}) ` +
    `SELECT a.point, r.id, r.client, r.received_at, r.state, r.bad, r.modified, r.extra, ${flag.sql} AS member ` +
    "FROM at_points a JOIN runs r ON r.id = a.id ORDER BY a.point, r.client";
  return { sql, params: [points, q.from, q.step, q.to, q.from, q.step, q.to, ...(q.client === undefined ? [] : [q.client]), ...flag.params] };
}

/** Count, mean and maximum duration per bucket of the window. */
export function durationsByBucketSql(q: BucketQuery): SqlWithParams {
  const where = ["received_at > ?", "received_at <= ?", "duration_s IS NOT NULL"];
  const params: unknown[] = [q.from, q.step, q.from, q.to];
  if (q.client !== undefined) {
    where.push("client = ?");
    params.push(q.client);
  }
  if (q.member) {
    where.push(`${memberFlag(q).sql} = 1`);
    params.push(q.member.kind, q.member.name);
  }
  return {
    sql:
      `SELECT ${BUCKET} AS bucket, COUNT(*) AS runs, AVG(duration_s) AS mean_s, MAX(duration_s) AS max_s ` +
      `FROM runs r WHERE ${where.join(" AND ")} GROUP BY 1 ORDER BY 1`,
    params,
  };
}

/** The problem entries of the runs listRunsSql(q) selects, newest run first, at most maxRows. */
export function runProblemsSql(q: RunQuery, maxRows: number): SqlWithParams {
  const runs = listRunsSql(q);
  return {
    sql:
      "SELECT e.run_id, e.kind, e.tag, e.name FROM run_entries e JOIN runs r ON r.id = e.run_id " +
      `WHERE e.kind <> 'good' AND e.run_id IN (SELECT id FROM (${runs.sql}) q) ORDER BY r.received_at DESC, r.id DESC, e.ord LIMIT ?`,
    params: [...runs.params, maxRows],
  };
}

/** Rewrites `?` placeholders as PostgreSQL's $1, $2, ... (our SQL has no `?` inside literals). */
export function toPgParams(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
