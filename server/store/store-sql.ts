// The SQL both engines run, written once with `?` placeholders (PostgreSQL gets $n via toPgParams).
import type { RunQuery } from "./store.js";

export const SQL = {
  upsertClient:
    "INSERT INTO clients (name, profile, first_seen, version) VALUES (?, ?, ?, ?) " +
    // first_seen keeps the first sighting; a declaration without a version keeps the known one.
    "ON CONFLICT (name) DO UPDATE SET profile = excluded.profile, version = COALESCE(excluded.version, clients.version)",
  getClient: "SELECT name, profile, first_seen, version FROM clients WHERE name = ?",
  listClients: "SELECT name, profile, first_seen, version FROM clients ORDER BY name",

  deleteProbeValues: "DELETE FROM probe_values WHERE client = ?",
  upsertProbeSet:
    "INSERT INTO probe_sets (client, groups_json, received_at) VALUES (?, ?, ?) " +
    "ON CONFLICT (client) DO UPDATE SET groups_json = excluded.groups_json, received_at = excluded.received_at",
  insertProbeValue: "INSERT INTO probe_values (client, ord, name, source, value) VALUES (?, ?, ?, ?, ?)",
  getProbeSet: "SELECT client, groups_json, received_at FROM probe_sets WHERE client = ?",
  getProbeValues: "SELECT name, source, value FROM probe_values WHERE client = ? ORDER BY ord",

  insertRun:
    "INSERT INTO runs (client, received_at, state, total, good, bad, modified, extra, revision, dry_run, flags_json, timings_json) " +
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
  insertRunEntry: "INSERT INTO run_entries (run_id, ord, kind, tag, name, attrs_json, diff) VALUES (?, ?, ?, ?, ?, ?, ?)",
  getRunEntries: "SELECT kind, tag, name, attrs_json, diff FROM run_entries WHERE run_id = ? ORDER BY ord",
  // Entries go with their run (ON DELETE CASCADE); each client's newest run stays.
  purgeRuns: "DELETE FROM runs WHERE received_at < ? AND id NOT IN (SELECT MAX(id) FROM runs GROUP BY client)",

  putRecord:
    "INSERT INTO records (kind, key, value_json) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET value_json = excluded.value_json",
  insertRecordIfAbsent: "INSERT INTO records (kind, key, value_json) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO NOTHING",
  getRecord: "SELECT value_json FROM records WHERE kind = ? AND key = ?",
  listRecords: "SELECT key, value_json FROM records WHERE kind = ? ORDER BY key",
  deleteRecord: "DELETE FROM records WHERE kind = ? AND key = ?",

  appliedVersions: "SELECT version FROM schema_version ORDER BY version",
  markApplied: "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
} as const;

const RUN_COLUMNS =
  "id, client, received_at, state, total, good, bad, modified, extra, revision, dry_run, flags_json, timings_json";

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

/** The newest run per client (as of `before`), by client name. */
export function latestRunsSql(before?: number): SqlWithParams {
  const filter = before === undefined ? "" : " WHERE received_at <= ?";
  const sql =
    `SELECT ${RUN_COLUMNS} FROM (SELECT ${RUN_COLUMNS}, ` +
    `ROW_NUMBER() OVER (PARTITION BY client ORDER BY received_at DESC, id DESC) AS rn FROM runs${filter}) latest ` +
    "WHERE rn = 1 ORDER BY client";
  return { sql, params: before === undefined ? [] : [before] };
}

/** Rewrites `?` placeholders as PostgreSQL's $1, $2, ... (our SQL has no `?` inside literals). */
export function toPgParams(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
