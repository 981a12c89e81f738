// The reports as data: what the web UI and `vacfg reports` both show (client states, summary,
// one client's history, entries across clients, common problems, run timings), read from the store
// "as of" a point in time. No HTML or terminal formatting here.
import { VacfgError } from "../../protocol/errors.js";
import type { ClientRegistration, StatsEntry, StatsEntryKind, Store, StoredRun } from "../store/store.js";

/** A client's state in the grid. `stale`: no run within the stale interval; `never`: no run at all. */
export type ClientState = "clean" | "bad" | "modified" | "extra" | "dirty" | "stale" | "never";
export const CLIENT_STATES: readonly ClientState[] = ["clean", "bad", "modified", "extra", "dirty", "stale", "never"];
export type ProblemKind = Exclude<StatsEntryKind, "good">;
export const PROBLEM_KINDS: readonly ProblemKind[] = ["bad", "modified", "extra"];

export const DEFAULT_STALE_HOURS = 24;

export interface ReportOptions {
  /** The point in time the reports describe (ms since epoch); runs after it are ignored. */
  asOf: number;
  /** A client whose newest run is older than this (ms) before `asOf` is stale. */
  staleMs: number;
}

export interface ClientRow {
  name: string;
  profile: string;
  state: ClientState;
  stale: boolean;
  /** The newest run at or before asOf, if any. */
  lastRun?: StoredRun;
}

export interface Summary {
  asOf: number;
  staleHours: number;
  total: number;
  /** Clients per category; a client is counted in every category it falls in (bad and extra, say). */
  clean: number;
  bad: number;
  modified: number;
  extra: number;
  stale: number;
  never: number;
}

export interface EntryOnClient {
  client: string;
  runId: number;
  runTime: number;
  entry: StatsEntry;
}

export interface CommonProblem {
  kind: ProblemKind;
  tag: string;
  name: string;
  clients: string[];
}

export interface TimingRow {
  client: string;
  runId: number;
  runTime: number;
  /** Phase → seconds spent from the previous OpStamp to this one, in time order. */
  phases: Array<{ phase: string; seconds: number }>;
  totalSeconds: number;
}

/** Which page of a long list to show: 1-based page number, rows per page. */
export interface PageRequest {
  page: number;
  perPage: number;
}

export const DEFAULT_PER_PAGE = 100;
export const MAX_PER_PAGE = 1000;

/** One page of a list and where it sits: rows `from`–`to` (1-based; 0–0 when the page is empty) of `total`. */
export interface PageInfo extends PageRequest {
  total: number;
  /** Pages in all (at least 1, so that an empty list is "page 1 of 1"). */
  pages: number;
  from: number;
  to: number;
}

export interface ClientDetail {
  row: ClientRow;
  registration?: ClientRegistration;
  /** One page of the client's runs at or before asOf, newest first (see historyPage). */
  history: StoredRun[];
  historyPage: PageInfo;
  /** The run shown (the newest as of asOf, or the one asked for). */
  run?: StoredRun;
  entries: Record<ProblemKind, StatsEntry[]>;
  good: number;
}

/** Parses `?as_of=` (ISO 8601 or ms since epoch); undefined or empty means now. */
export function parseAsOf(value: unknown, now = Date.now()): number {
  if (value === undefined || value === "") return now;
  if (typeof value !== "string") throw new VacfgError("REPORT_QUERY", "as_of: give one ISO 8601 time, e.g. 2026-01-31T12:00:00Z");
  const t = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) throw new VacfgError("REPORT_QUERY", `as_of: "${value.slice(0, 64)}" is not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)`);
  return t;
}

/** Parses a stale interval in hours (positive number, at most ten years). */
export function parseStaleHours(value: unknown, fallback = DEFAULT_STALE_HOURS): number {
  if (value === undefined || value === "") return fallback;
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(n > 0 && n <= 87600)) throw new VacfgError("REPORT_QUERY", `stale_hours: "${String(value).slice(0, 32)}" must be a number of hours above 0`);
  return n;
}

/**
 * Parses `?page=` and `?per_page=` (absent or empty: page 1, DEFAULT_PER_PAGE rows). Anything else
 * than one whole number in range is the caller's mistake, named by its parameter.
 */
export function parsePage(page: unknown, perPage: unknown, names: { page: string; perPage: string } = { page: "page", perPage: "per_page" }): PageRequest {
  const whole = (value: unknown, name: string, fallback: number, max: number): number => {
    if (value === undefined || value === "") return fallback;
    if (typeof value !== "string") throw new VacfgError("REPORT_QUERY", `${name}: give it once, as a whole number from 1 to ${max}`);
    if (!/^\d{1,15}$/.test(value) || Number(value) < 1) throw new VacfgError("REPORT_QUERY", `${name}: "${value.slice(0, 32)}" must be a whole number from 1 to ${max}`);
    if (Number(value) > max) throw new VacfgError("REPORT_QUERY", `${name}: ${value} is above the maximum of ${max}`);
    return Number(value);
  };
  return { page: whole(page, names.page, 1, 1_000_000_000), perPage: whole(perPage, names.perPage, DEFAULT_PER_PAGE, MAX_PER_PAGE) };
}

/** The rows of one page and where they sit in the list. A page past the end is empty (its list shrank, say). */
export function paginate<T>(all: readonly T[], p: PageRequest = { page: 1, perPage: DEFAULT_PER_PAGE }): { items: T[]; info: PageInfo } {
  const start = (p.page - 1) * p.perPage;
  const items = all.slice(start, start + p.perPage);
  const info: PageInfo = {
    page: p.page,
    perPage: p.perPage,
    total: all.length,
    pages: Math.max(1, Math.ceil(all.length / p.perPage)),
    from: items.length ? start + 1 : 0,
    to: items.length ? start + items.length : 0,
  };
  return { items, info };
}

export function reportOptions(asOf: number, staleHours: number): ReportOptions {
  return { asOf, staleMs: staleHours * 3600_000 };
}

/** What classify and summarize read of a run. */
export type RunCounts = Pick<StoredRun, "timestamp" | "state" | "bad" | "modified" | "extra">;

/** The grid state of one client: stale first (an old report says little), then the worst finding. */
export function classify(run: RunCounts | undefined, opts: ReportOptions): { state: ClientState; stale: boolean } {
  if (!run) return { state: "never", stale: false };
  const stale = run.timestamp < opts.asOf - opts.staleMs;
  if (stale) return { state: "stale", stale };
  if (run.bad > 0) return { state: "bad", stale };
  if (run.modified > 0) return { state: "modified", stale };
  if (run.extra > 0) return { state: "extra", stale };
  return { state: run.state === "clean" ? "clean" : "dirty", stale };
}

/** Every client known as of `asOf` (registered or reporting), with its newest run and state. */
export async function clientRows(store: Store, opts: ReportOptions): Promise<ClientRow[]> {
  const [clients, latest] = await Promise.all([store.listClients(), store.latestRuns(opts.asOf)]);
  const rows = new Map<string, ClientRow>();
  for (const c of clients) {
    if (c.firstSeen > opts.asOf) continue;
    rows.set(c.name, { name: c.name, profile: c.profile, ...classify(undefined, opts) });
  }
  const profiles = new Map(clients.map((c) => [c.name, c.profile]));
  for (const run of latest) {
    rows.set(run.client, { name: run.client, profile: profiles.get(run.client) ?? "", lastRun: run, ...classify(run, opts) });
  }
  return [...rows.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function summarize(rows: ReadonlyArray<{ state: ClientState; stale: boolean; lastRun?: RunCounts }>, opts: ReportOptions): Summary {
  const s: Summary = { asOf: opts.asOf, staleHours: opts.staleMs / 3600_000, total: rows.length, clean: 0, bad: 0, modified: 0, extra: 0, stale: 0, never: 0 };
  for (const r of rows) {
    if (r.state === "never") s.never++;
    if (r.stale) s.stale++;
    const run = r.lastRun;
    if (!run) continue;
    if (run.state === "clean" && run.bad === 0 && run.modified === 0 && !r.stale) s.clean++;
    if (run.bad > 0) s.bad++;
    if (run.modified > 0) s.modified++;
    if (run.extra > 0) s.extra++;
  }
  return s;
}

/**
 * One client as of opts.asOf: its state, the run asked for (default the newest) with its entries,
 * and one page of its history. The store has a limit but no offset for runs, so every run up to
 * asOf is read (runs without their entries) and the page is cut here.
 */
export async function clientDetail(store: Store, name: string, opts: ReportOptions, runId?: number, historyPage?: PageRequest): Promise<ClientDetail | undefined> {
  const [registration, runs] = await Promise.all([store.getClient(name), store.listRuns({ client: name, before: opts.asOf })]);
  if (!registration && runs.length === 0) {
    // A client that reported only after asOf, or an unknown name.
    if ((await store.listRuns({ client: name, limit: 1 })).length === 0) return undefined;
  }
  let run = runs[0];
  if (runId !== undefined) {
    const found = runs.find((r) => r.id === runId);
    if (!found) throw new VacfgError("REPORT_QUERY", `run: ${runId} is not a run of ${name} at or before the as-of time`);
    run = found;
  }
  const { items: history, info } = paginate(runs, historyPage);
  const row: ClientRow = { name, profile: registration?.profile ?? "", lastRun: runs[0], ...classify(runs[0], opts) };
  const entries: Record<ProblemKind, StatsEntry[]> = { bad: [], modified: [], extra: [] };
  let good = 0;
  if (run) {
    for (const e of await store.getRunEntries(run.id)) {
      if (e.kind === "good") good++;
      else entries[e.kind].push(e);
    }
  }
  const detail: ClientDetail = { row, history, historyPage: info, entries, good };
  if (registration) detail.registration = registration;
  if (run) detail.run = run;
  return detail;
}

/** Entries of one kind across every client's newest run (stale clients included: their report is all we know). */
export async function entriesAcross(store: Store, kind: ProblemKind, rows: ClientRow[]): Promise<EntryOnClient[]> {
  const byRun = new Map<number, ClientRow>();
  for (const r of rows) if (r.lastRun && r.lastRun[kind] > 0) byRun.set(r.lastRun.id, r);
  const out: EntryOnClient[] = [];
  // One query for every run (in batches), not one per client.
  for (const { runId, entry } of await store.runEntries([...byRun.keys()], kind)) {
    const r = byRun.get(runId)!;
    out.push({ client: r.name, runId, runTime: r.lastRun!.timestamp, entry });
  }
  return out.sort((a, b) => cmp(a.entry.tag, b.entry.tag) || cmp(a.entry.name, b.entry.name) || cmp(a.client, b.client));
}

/** Bad and modified entries shared by at least `minClients` clients, most widespread first. */
export async function commonProblems(store: Store, rows: ClientRow[], minClients = 2): Promise<CommonProblem[]> {
  const byKey = new Map<string, CommonProblem>();
  for (const kind of ["bad", "modified"] as const) {
    for (const e of await entriesAcross(store, kind, rows)) {
      const key = `${kind}\u0000${e.entry.tag}\u0000${e.entry.name}`;
      let p = byKey.get(key);
      if (!p) byKey.set(key, (p = { kind, tag: e.entry.tag, name: e.entry.name, clients: [] }));
      if (!p.clients.includes(e.client)) p.clients.push(e.client);
    }
  }
  return [...byKey.values()]
    .filter((p) => p.clients.length >= minClients)
    .sort((a, b) => b.clients.length - a.clients.length || cmp(a.kind, b.kind) || cmp(a.tag, b.tag) || cmp(a.name, b.name));
}

/** Time between successive OpStamps of a run (the client's phases: probe download, config download, parse, …). */
export function runPhases(run: StoredRun): { phases: TimingRow["phases"]; totalSeconds: number } {
  const stamps = Object.entries(run.timings)
    .filter(([, t]) => Number.isFinite(t))
    .sort((a, b) => a[1] - b[1]);
  const phases: TimingRow["phases"] = [];
  for (let i = 1; i < stamps.length; i++) phases.push({ phase: stamps[i][0], seconds: stamps[i][1] - stamps[i - 1][1] });
  const totalSeconds = stamps.length > 1 ? stamps[stamps.length - 1][1] - stamps[0][1] : 0;
  return { phases, totalSeconds };
}

export function timingRows(rows: ClientRow[]): TimingRow[] {
  const out: TimingRow[] = [];
  for (const r of rows) {
    if (!r.lastRun) continue;
    out.push({ client: r.name, runId: r.lastRun.id, runTime: r.lastRun.timestamp, ...runPhases(r.lastRun) });
  }
  return out;
}

/** Every phase name seen, in the order phases usually happen (by mean position). */
export function phaseNames(rows: TimingRow[]): string[] {
  const pos = new Map<string, number[]>();
  for (const r of rows) r.phases.forEach((p, i) => (pos.get(p.phase) ?? pos.set(p.phase, []).get(p.phase)!).push(i));
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [...pos.entries()].sort((a, b) => mean(a[1]) - mean(b[1]) || cmp(a[0], b[0])).map(([n]) => n);
}

/** Mean seconds per phase over the rows that have it. */
export function phaseMeans(rows: TimingRow[]): Record<string, number> {
  const sum: Record<string, [number, number]> = {};
  for (const r of rows) for (const p of r.phases) (sum[p.phase] ??= [0, 0]), (sum[p.phase][0] += p.seconds), sum[p.phase][1]++;
  return Object.fromEntries(Object.entries(sum).map(([k, [s, n]]) => [k, s / n]));
}

export function filterRows(rows: ClientRow[], f: { client?: string; state?: string }): ClientRow[] {
  if (f.state !== undefined && f.state !== "" && !(CLIENT_STATES as readonly string[]).includes(f.state)) {
    throw new VacfgError("REPORT_QUERY", `state: "${f.state.slice(0, 32)}" is not one of ${CLIENT_STATES.join(", ")}`);
  }
  return rows.filter((r) => (!f.client || r.name.includes(f.client)) && (!f.state || r.state === f.state));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
