// The reports' charts: the series of fleet-history.ts drawn by svg-chart.ts, ready for a page
// (Markup, so that the autoescaping templates insert the SVG as it is; svg-chart escapes its text).
import { Markup } from "../templates/jinja2/runtime.js";
import type { ChartWindow, DurationPoint, EntryTimeline, StatePoint } from "./fleet-history.js";
import { isoMinute, plainNumber, renderTimeChart, renderTimeline, type TimelineRow } from "./svg-chart.js";

export const STATE_SERIES = ["clean", "bad", "modified", "stale"] as const;

export function stateChart(id: string, title: string, w: ChartWindow, points: StatePoint[]): Markup {
  return new Markup(
    renderTimeChart({
      id,
      title,
      from: w.from,
      to: w.to,
      joinWithin: w.step,
      unit: "clients",
      series: STATE_SERIES.map((key) => ({ key, label: key, points: points.map((p) => ({ at: p.at, value: p[key] })) })),
    }),
  );
}

export function durationChart(id: string, title: string, w: ChartWindow, points: DurationPoint[]): Markup {
  return new Markup(
    renderTimeChart({
      id,
      title,
      from: w.from,
      to: w.to,
      joinWithin: w.step,
      unit: "seconds",
      series: [
        { key: "mean", label: "mean", points: points.map((p) => ({ at: p.at, value: p.meanSeconds })) },
        { key: "max", label: "longest", points: points.map((p) => ({ at: p.at, value: p.maxSeconds })) },
      ],
    }),
  );
}

/** One client's runs (top row, coloured by the run's state) and one row per entry in trouble. */
export function timelineChart(id: string, client: string, w: ChartWindow, t: EntryTimeline, runHref: (runId: number) => string): Markup {
  const runsRow: TimelineRow = {
    label: `runs (${t.runs.length})`,
    marks: t.runs.map((r) => ({
      at: r.at,
      kind: r.state,
      href: runHref(r.id),
      title: `run ${r.id} at ${isoMinute(r.at)}: ${r.state}${r.durationSeconds === undefined ? "" : `, ${plainNumber(r.durationSeconds)} s`}`,
    })),
  };
  const rows: TimelineRow[] = t.entries.map((e) => ({
    label: `${e.tag}:${e.name}`,
    marks: e.marks.map((m) => ({ at: m.at, kind: m.kind, href: runHref(m.runId), title: `${e.tag}:${e.name} ${m.kind} in run ${m.runId} at ${isoMinute(m.at)}` })),
  }));
  return new Markup(renderTimeline({ id, title: `Entry timeline of ${client}`, from: w.from, to: w.to, rows: [runsRow, ...rows] }));
}
