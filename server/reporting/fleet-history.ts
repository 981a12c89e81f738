// The reports over a time window, as data: the fleet's (or one group's or bundle's) clean, bad,
// modified and stale counts at each point, run durations per point, and one client's entries as a
// timeline. Every read is bounded: a window of at most MAX_WINDOW_MS cut into at most MAX_POINTS
// points, the state read as each client's newest run at each point (clients × points index seeks,
// server/store/store-sql.ts), durations aggregated by the store, and a timeline of at most
// TIMELINE_RUNS runs and TIMELINE_ROWS entries.
import { VacfgError } from "../../protocol/errors.js";
import { parseDuration } from "../../lib/duration.js";
import type { MemberFilter, PointRun, Store, StoredRun } from "../store/store.js";
import { classify, reportOptions, summarize, type ClientState, type ProblemKind } from "./report-model.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const MAX_POINTS = 60;
export const MAX_WINDOW_MS = 400 * DAY;
export const DEFAULT_WINDOW = "7d";
/** The windows the pages offer as links (any duration from 1h to 400d may be given). */
export const WINDOW_CHOICES = ["24h", "7d", "30d", "90d"];
/** Bucket sizes, smallest first: a window gets the smallest that keeps it within MAX_POINTS. */
const STEPS = [MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];

export const TIMELINE_RUNS = 200;
export const TIMELINE_ROWS = 40;
/** Problem entries read for one timeline at most (a client with thousands of bad entries per run). */
export const TIMELINE_MAX_PROBLEMS = 20_000;

/**
 * A window ending at `to`, cut into `points` buckets of `step` ms aligned to whole multiples of the
 * step (UTC), so that the same points come back on every view and finished ones can be cached;
 * point i is the end of bucket i, the last one cut at `to`.
 */
export interface ChartWindow {
  /** As given (e.g. "7d"), for links. */
  label: string;
  from: number;
  to: number;
  step: number;
  points: number;
}

/** `?window=` (a duration such as 24h or 7d, default 7d), ending at the as-of time. */
export function parseWindow(value: unknown, asOf: number): ChartWindow {
  const label = value === undefined || value === "" ? DEFAULT_WINDOW : value;
  const span = typeof label === "string" ? parseDuration(label) : undefined;
  if (span === undefined || span < HOUR || span > MAX_WINDOW_MS) {
    throw new VacfgError("REPORT_QUERY", `window: "${String(label).slice(0, 32)}" must be a duration from 1h to 400d, such as ${WINDOW_CHOICES.join(", ")}`);
  }
  const step = STEPS.find((s) => span / s <= MAX_POINTS) ?? 7 * DAY;
  const points = Math.ceil(span / step);
  const end = Math.ceil(asOf / step) * step;
  return { label: label as string, from: end - points * step, to: asOf, step, points };
}

/** The end of bucket i (the window's end for the last). */
export const pointAt = (w: ChartWindow, i: number): number => Math.min(w.from + (i + 1) * w.step, w.to);

/**
 * Values of finished points, per series: a point more than SETTLE_MS in the past can no longer
 * change (a run is stamped with the time it arrives), so a page shown again asks the store only
 * for its newest points. Bounded (least recently used series go first) and dropped after TTL_MS, so
 * that purged runs are forgotten too. One per process.
 */
export class SeriesCache {
  static readonly MAX_SERIES = 64;
  static readonly TTL_MS = 10 * MINUTE;
  static readonly SETTLE_MS = MINUTE;
  private readonly series = new Map<string, { created: number; points: Map<number, unknown> }>();
  constructor(private readonly now: () => number = Date.now) {}

  /** The cached points of a series (time → value; null: a bucket without runs). */
  points<T>(key: string): Map<number, T | null> {
    const hit = this.series.get(key);
    if (hit && this.now() - hit.created < SeriesCache.TTL_MS) {
      this.series.delete(key);
      this.series.set(key, hit);
      return hit.points as Map<number, T | null>;
    }
    const fresh = { created: this.now(), points: new Map<number, unknown>() };
    this.series.delete(key);
    this.series.set(key, fresh);
    while (this.series.size > SeriesCache.MAX_SERIES) this.series.delete(this.series.keys().next().value!);
    return fresh.points as Map<number, T | null>;
  }

  settled(at: number): boolean {
    return at <= this.now() - SeriesCache.SETTLE_MS;
  }
}

/**
 * The values at every point of the window: cached finished points, and from the first point not
 * cached onwards, `read(k)` for the points k… (one store query, its indices counted from k).
 */
async function withCache<T>(w: ChartWindow, key: string, cache: SeriesCache | undefined, read: (k: number) => Promise<Map<number, T>>): Promise<Array<T | null>> {
  const known = cache?.points<T>(key) ?? new Map<number, T | null>();
  let k = 0;
  while (k < w.points && known.has(pointAt(w, k))) k++;
  const fresh = k < w.points ? await read(k) : new Map<number, T>();
  const out: Array<T | null> = [];
  for (let i = 0; i < w.points; i++) {
    const at = pointAt(w, i);
    if (i < k) out.push(known.get(at) ?? null);
    else {
      const v = fresh.get(i - k) ?? null;
      out.push(v);
      if (cache?.settled(at) && at === w.from + (i + 1) * w.step) known.set(at, v);
    }
  }
  return out;
}

/** The window from its point k on (same step and end). */
const tail = (w: ChartWindow, k: number) => ({ from: w.from + k * w.step, to: w.to, step: w.step });

export interface StatePoint {
  at: number;
  clients: number;
  clean: number;
  bad: number;
  modified: number;
  extra: number;
  stale: number;
}

/**
 * The state counts at each point of the window, counted as the summary counts them (summarize):
 * each client's newest run at that point decides, and a client whose newest run does not carry the
 * filter's group or bundle is not counted there. Clients that never reported are left out.
 */
export async function stateSeries(store: Store, w: ChartWindow, staleHours: number, member?: MemberFilter, cache?: SeriesCache): Promise<StatePoint[]> {
  const key = `states\u0000${staleHours}\u0000${member?.kind ?? ""}\u0000${member?.name ?? ""}\u0000${w.step}`;
  const values = await withCache<StatePoint>(w, key, cache, async (k) => {
    const rows = await store.runsAtPoints({ ...tail(w, k), ...(member ? { member } : {}) });
    const byPoint = new Map<number, PointRun[]>();
    for (const r of rows) (byPoint.get(r.point) ?? byPoint.set(r.point, []).get(r.point)!).push(r);
    const out = new Map<number, StatePoint>();
    for (let i = 0; i < w.points - k; i++) {
      const ro = reportOptions(pointAt(w, i + k), staleHours);
      const members = (byPoint.get(i) ?? []).filter((r) => r.member).map((run) => ({ lastRun: run, ...classify(run, ro) }));
      const s = summarize(members, ro);
      out.set(i, { at: ro.asOf, clients: members.length, clean: s.clean, bad: s.bad, modified: s.modified, extra: s.extra, stale: s.stale });
    }
    return out;
  });
  return values.map((v) => v!);
}

export interface DurationPoint {
  at: number;
  runs: number;
  meanSeconds: number;
  maxSeconds: number;
}

/** Mean and longest run duration at each point that has runs (of one client, or of a group's or bundle's runs). */
export async function durationSeries(store: Store, w: ChartWindow, filter: { client?: string; member?: MemberFilter } = {}, cache?: SeriesCache): Promise<DurationPoint[]> {
  const key = `durations\u0000${filter.client ?? ""}\u0000${filter.member?.kind ?? ""}\u0000${filter.member?.name ?? ""}\u0000${w.step}`;
  const values = await withCache<DurationPoint>(w, key, cache, async (k) => {
    const buckets = await store.durationsByBucket({ ...tail(w, k), ...filter });
    return new Map(buckets.map((b) => [b.bucket, { at: pointAt(w, b.bucket + k), runs: b.runs, meanSeconds: b.meanSeconds, maxSeconds: b.maxSeconds }]));
  });
  return values.filter((v): v is DurationPoint => v !== null);
}

export interface TimelineRun {
  id: number;
  at: number;
  state: ClientState;
  durationSeconds?: number;
}

export interface TimelineEntry {
  tag: string;
  name: string;
  /** The runs in which the entry was bad, modified or extra, oldest first. */
  marks: Array<{ runId: number; at: number; kind: ProblemKind }>;
}

export interface EntryTimeline {
  runs: TimelineRun[];
  /** There were more runs in the window than TIMELINE_RUNS; the newest are shown. */
  runsCut: boolean;
  entries: TimelineEntry[];
  /** Entries not shown (beyond TIMELINE_ROWS, the least recently failing). */
  hiddenEntries: number;
  /** TIMELINE_MAX_PROBLEMS entries were read: older runs' marks may be missing. */
  problemsCut: boolean;
}

/**
 * One client's runs in the window and, per entry that was bad, modified or extra in any of them,
 * the runs where it was: the entries most recently in trouble first.
 */
export async function entryTimeline(store: Store, client: string, w: ChartWindow): Promise<EntryTimeline> {
  const q = { client, after: w.from, before: w.to, limit: TIMELINE_RUNS };
  const [runs, problems] = await Promise.all([store.listRuns({ ...q, limit: TIMELINE_RUNS + 1 }), store.runProblems(q, TIMELINE_MAX_PROBLEMS)]);
  const shown: StoredRun[] = runs.slice(0, TIMELINE_RUNS).reverse();
  const at = new Map(shown.map((r) => [r.id, r.timestamp]));
  const byEntry = new Map<string, TimelineEntry>();
  // Newest run first from the store: walk oldest first so that marks come in time order.
  for (const p of [...problems].reverse()) {
    const t = at.get(p.runId);
    if (t === undefined) continue;
    const key = `${p.tag}\u0000${p.name}`;
    let e = byEntry.get(key);
    if (!e) byEntry.set(key, (e = { tag: p.tag, name: p.name, marks: [] }));
    e.marks.push({ runId: p.runId, at: t, kind: p.kind });
  }
  const last = (e: TimelineEntry): number => e.marks[e.marks.length - 1].at;
  const entries = [...byEntry.values()].sort((a, b) => last(b) - last(a) || (a.tag + a.name < b.tag + b.name ? -1 : 1));
  return {
    runs: shown.map((r) => ({
      id: r.id,
      at: r.timestamp,
      // A run's own state, not stale: it is shown at its own time.
      state: classify(r, reportOptions(r.timestamp, 1)).state,
      ...(r.durationSeconds === undefined ? {} : { durationSeconds: r.durationSeconds }),
    })),
    runsCut: runs.length > TIMELINE_RUNS,
    entries: entries.slice(0, TIMELINE_ROWS),
    hiddenEntries: Math.max(0, entries.length - TIMELINE_ROWS),
    problemsCut: problems.length >= TIMELINE_MAX_PROBLEMS,
  };
}
