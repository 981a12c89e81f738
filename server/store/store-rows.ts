// Converts between the Store's records and table rows, the same way for both engines
// (JSON as TEXT, booleans as 0/1, BIGINT columns that pg returns as strings made numbers).
import type { ClientRegistration, RunRecord, StatsEntry, StatsEntryKind, StoredRun } from "./store.js";

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
  ];
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
  };
}

/** Entry columns after run_id: ord, kind, tag, name, attrs_json, diff (UTF-8 bytes). */
export function entryParams(e: StatsEntry, ord: number): unknown[] {
  return [ord, e.kind, e.tag, e.name, toJson(e.attrs, "attrs"), e.diff === undefined ? null : Buffer.from(e.diff, "utf8")];
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
