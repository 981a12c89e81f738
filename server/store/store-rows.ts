// Converts between the Store's records and table rows, the same way for both engines
// (JSON as TEXT, booleans as 0/1, BIGINT columns that pg returns as strings made numbers).
import type { PointRun, ClientRegistration, DurationBucket, MemberKind, RunProblem, RunRecord, StatsEntry, StatsEntryKind, StoredRun } from "./store.js";

type Row = Record<string, unknown>;

/** JSON text for a value column; `undefined` (and functions) have no JSON form and are refused. */
export function toJson(value: unknown, field: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new Error(`${field}: value has no JSON representation`);
  return text;
}

export function fromJson<T>(text: unknown): T {
  return JSON.parse(String(text)) as T;
}

export function clientParams(c: ClientRegistration): unknown[] {
  return [c.name, c.profile, c.firstSeen, c.version ?? null];
}

export function rowToClient(r: Row): ClientRegistration {
  const c: ClientRegistration = { name: String(r.name), profile: String(r.profile), firstSeen: Number(r.first_seen) };
  if (r.version !== null && r.version !== undefined) c.version = String(r.version);
  return c;
}

export function runParams(run: RunRecord): unknown[] {
  return [
    run.client,
    run.timestamp,
    run.state,
    run.total,
    run.good,
    run.bad,
    run.modified,
    run.extra,
    run.revision,
    run.dryRun ? 1 : 0,
    toJson(run.flags, "flags"),
    toJson(run.timings, "timings"),
    timingsSpan(run.timings) ?? null,
  ];
}

/** Newest minus oldest OpStamp in seconds (the migration's timingsSpan, for new runs); undefined with fewer than two. */
export function timingsSpan(timings: Record<string, number>): number | undefined {
  const t = Object.values(timings).filter((v) => Number.isFinite(v));
  return t.length > 1 ? Math.max(...t) - Math.min(...t) : undefined;
}

/** The (kind, name) pairs of a run's groups and bundles, each name once. */
export function memberPairs(run: RunRecord): Array<[MemberKind, string]> {
  return [
    ...[...new Set(run.groups ?? [])].map((n): [MemberKind, string] => ["group", n]),
    ...[...new Set(run.bundles ?? [])].map((n): [MemberKind, string] => ["bundle", n]),
  ];
}

export function rowsToMembers(rows: Row[]): { groups: string[]; bundles: string[] } {
  const out = { groups: [] as string[], bundles: [] as string[] };
  for (const r of rows) (r.kind === "group" ? out.groups : out.bundles).push(String(r.name));
  return out;
}

/** runMembers' rows, sorted by name then run id. */
export function rowsToRunMembers(rows: Row[]): Array<{ runId: number; name: string }> {
  return rows
    .map((r) => ({ runId: Number(r.run_id), name: String(r.name) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.runId - b.runId));
}

export function rowToPointRun(r: Row): PointRun {
  return {
    id: Number(r.id),
    client: String(r.client),
    point: Number(r.point),
    timestamp: Number(r.received_at),
    state: r.state as PointRun["state"],
    bad: Number(r.bad),
    modified: Number(r.modified),
    extra: Number(r.extra),
    member: Number(r.member) === 1,
  };
}

export function rowToDurationBucket(r: Row): DurationBucket {
  return { bucket: Number(r.bucket), runs: Number(r.runs), meanSeconds: Number(r.mean_s), maxSeconds: Number(r.max_s) };
}

export function rowToRunProblem(r: Row): RunProblem {
  return { runId: Number(r.run_id), kind: r.kind as RunProblem["kind"], tag: String(r.tag), name: String(r.name) };
}

export function rowToRun(r: Row): StoredRun {
  return {
    id: Number(r.id),
    client: String(r.client),
    timestamp: Number(r.received_at),
    state: r.state as StoredRun["state"],
    total: Number(r.total),
    good: Number(r.good),
    bad: Number(r.bad),
    modified: Number(r.modified),
    extra: Number(r.extra),
    revision: String(r.revision),
    dryRun: Number(r.dry_run) === 1,
    flags: fromJson(r.flags_json),
    timings: fromJson(r.timings_json),
    ...(r.duration_s === null || r.duration_s === undefined ? {} : { durationSeconds: Number(r.duration_s) }),
  };
}

/** Entry columns after run_id: ord, kind, tag, name, attrs_json, diff (UTF-8 bytes). */
export function entryParams(e: StatsEntry, ord: number): unknown[] {
  return [ord, e.kind, e.tag, e.name, toJson(e.attrs, "attrs"), e.diff === undefined ? null : Buffer.from(e.diff, "utf8")];
}

/** A runEntries row: the entry and the run it belongs to. */
export function rowToRunEntry(r: Row): { runId: number; entry: StatsEntry } {
  return { runId: Number(r.run_id), entry: rowToEntry(r) };
}

export function rowToEntry(r: Row): StatsEntry {
  const e: StatsEntry = {
    kind: r.kind as StatsEntryKind,
    tag: String(r.tag),
    name: String(r.name),
    attrs: fromJson(r.attrs_json),
  };
  if (r.diff !== null && r.diff !== undefined) e.diff = Buffer.from(r.diff as Uint8Array).toString("utf8");
  return e;
}
