// The reporting reads PostgreSQL runs in its own SQL (store-sql.ts holds what both engines share).
// SQLite runs a correlated subquery as a cheap in-process seek; PostgreSQL's planner joins such
// subqueries back to `runs` by a hash over the whole table, so here every "newest run of a client at
// a time" is a LATERAL index-only scan of runs_client_state (migration 4) with the columns it needs.
import type { BucketQuery, MemberKind, RunQuery, StatsEntryKind } from "./store.js";
import { RUN_COLUMNS, durationsByBucketSql, latestRunsSql, listRunsSql, memberFlag, type SqlWithParams } from "./store-sql.js";

/** A client's (alias c) newest run at or before the expression `at`, as a LATERAL subquery r. */
const newestAt = (at: string, columns: string): string =>
  `CROSS JOIN LATERAL (SELECT ${columns} FROM runs n WHERE n.client = c.client AND n.received_at <= ${at} ORDER BY n.received_at DESC, n.id DESC LIMIT 1) r`;

/**
 * The newest run per client (as of `before`), by client name: newest_runs' runs, and for a client
 * whose newest run is after `before`, a LATERAL seek for the one before it.
 */
export function latestRunsPgSql(before?: number): SqlWithParams {
  if (before === undefined) return latestRunsSql();
  const columns = RUN_COLUMNS.split(", ").map((c) => `runs.${c}`).join(", ");
  return {
    sql:
      `SELECT ${columns} FROM newest_runs c JOIN runs ON runs.id = c.run_id WHERE c.received_at <= ?::bigint UNION ALL ` +
      `SELECT ${columns} FROM newest_runs c ${newestAt("?::bigint", "n.id")} JOIN runs ON runs.id = r.id WHERE c.received_at > ?::bigint ORDER BY client`,
    params: [before, before, before],
  };
}

/** Each client's newest run at each point of the window (as runsAtPointsSql): clients × points index-only seeks. */
export function runsAtPointsPgSql(q: BucketQuery): SqlWithParams {
  const points = Math.ceil((q.to - q.from) / q.step);
  const flag = memberFlag(q);
  const client = q.client === undefined ? "" : " WHERE c.client = ?";
  return {
    sql:
      `SELECT p.i AS point, r.id, c.client, r.received_at, r.state, r.bad, r.modified, r.extra, ${flag.sql} AS member ` +
      "FROM generate_series(0, ?::int - 1) p(i) CROSS JOIN newest_runs c " +
      // Point i is the end of bucket i, the last one cut at `to` (a window ending mid-bucket).
      `${newestAt("LEAST(?::bigint + (p.i + 1) * ?::bigint, ?::bigint)", "n.id, n.received_at, n.state, n.bad, n.modified, n.extra")} ` +
      `${client} ORDER BY p.i, c.client`,
    params: [...flag.params, points, q.from, q.step, q.to, ...(q.client === undefined ? [] : [q.client])],
  };
}

/**
 * Count, mean and maximum duration per bucket. For the whole fleet, one range scan of the covering
 * index runs_time_duration per bucket: the planner cannot tell how many groups a GROUP BY of the
 * bucket expression makes, and sorts the whole window. One client's runs (runs_client_time) and a
 * group's or bundle's (a hash semi-join against its memberships) go through the shared query.
 */
export function durationsByBucketPgSql(q: BucketQuery): SqlWithParams {
  if (q.member || q.client !== undefined) return durationsByBucketSql(q);
  const points = Math.ceil((q.to - q.from) / q.step);
  return {
    sql:
      "SELECT b.i AS bucket, a.runs, a.mean_s, a.max_s FROM generate_series(0, ?::int - 1) b(i) CROSS JOIN LATERAL " +
      "(SELECT COUNT(*) AS runs, AVG(duration_s) AS mean_s, MAX(duration_s) AS max_s FROM runs " +
      "WHERE received_at > ?::bigint + b.i * ?::bigint AND received_at <= LEAST(?::bigint + (b.i + 1) * ?::bigint, ?::bigint) " +
      "AND duration_s IS NOT NULL) a WHERE a.runs > 0 ORDER BY b.i",
    params: [points, q.from, q.step, q.from, q.step, q.to],
  };
}

// A list of run ids travels as one array parameter: one statement for any number of runs, where an
// IN list of 500 placeholders a statement was parsed and planned anew each time.

/** The groups or bundles of these runs, by primary key. */
export function runMembersPgSql(runIds: readonly number[], kind: MemberKind): SqlWithParams {
  return { sql: "SELECT run_id, name FROM run_members WHERE kind = ? AND run_id = ANY(?::bigint[])", params: [kind, runIds] };
}

/** The entries of one kind of these runs, by primary key, in each run's order. */
export function runEntriesPgSql(runIds: readonly number[], kind: StatsEntryKind): SqlWithParams {
  return {
    sql: "SELECT run_id, kind, tag, name, attrs_json, diff FROM run_entries WHERE kind = ? AND run_id = ANY(?::bigint[]) ORDER BY run_id, ord",
    params: [kind, runIds],
  };
}

/**
 * The problem entries of the runs listRunsSql(q) selects, newest run first, at most maxRows: each
 * run's entries by a LATERAL range of run_entries' primary key. As a join (or semi-join), the
 * planner hashed the run ids and read all of run_entries, every entry of every run, for a page's few.
 */
export function runProblemsPgSql(q: RunQuery, maxRows: number): SqlWithParams {
  const runs = listRunsSql(q);
  return {
    sql:
      `SELECT e.run_id, e.kind, e.tag, e.name FROM (${runs.sql}) r CROSS JOIN LATERAL ` +
      // No run gives more than maxRows; the LIMIT also keeps the planner from flattening the subquery into a hash join.
      "(SELECT run_id, kind, tag, name, ord FROM run_entries WHERE run_id = r.id AND kind <> 'good' ORDER BY ord LIMIT ?) e " +
      "ORDER BY r.received_at DESC, r.id DESC, e.ord LIMIT ?",
    params: [...runs.params, maxRows, maxRows],
  };
}
