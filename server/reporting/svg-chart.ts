// Charts as server-rendered SVG: a time-series line chart and a timeline of marks per row. No
// scripts and no inline styles (the pages' CSP allows neither): everything is coloured by class from
// reports.css, every point carries a <title> (the browser's tooltip) and every text is escaped.

export interface ChartPoint {
  at: number;
  value: number;
}

export interface ChartSeries {
  /** Class suffix (s-KEY) and legend entry. */
  key: string;
  label: string;
  points: ChartPoint[];
}

export interface TimeChartSpec {
  id: string;
  /** Read by screen readers and shown as the chart's tooltip. */
  title: string;
  from: number;
  to: number;
  /** Points further apart than this are not joined by a line (a bucket without runs). */
  joinWithin: number;
  /** Y axis caption and the unit in tooltips, e.g. "clients", "seconds". */
  unit: string;
  series: ChartSeries[];
  format?: (v: number) => string;
}

const W = 760;
const H = 260;
const M = { left: 56, right: 28, top: 12, bottom: 58 };

export function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const n1 = (x: number): string => (Math.round(x * 10) / 10).toString();

export function isoMinute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ") + "Z";
}

/** A number as tooltips and the y axis show it: whole counts as they are, seconds to 3 significant digits. */
export function plainNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(3)).toString();
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TICKS = [5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY];

/** Time ticks at whole UTC multiples of one interval (at most 8 over the span), with their labels. */
export function timeTicks(from: number, to: number): Array<{ at: number; label: string }> {
  const span = Math.max(1, to - from);
  const tick = TICKS.find((t) => span / t <= 8) ?? Math.ceil(span / 8 / DAY) * DAY;
  const out: Array<{ at: number; label: string }> = [];
  for (let at = Math.ceil(from / tick) * tick; at <= to; at += tick) {
    const iso = new Date(at).toISOString();
    // Below a day the clock time; on midnight (and for day ticks) the date.
    const label = tick < DAY && !iso.endsWith("T00:00:00.000Z") ? iso.slice(11, 16) : iso.slice(5, 10);
    out.push({ at, label });
  }
  return out;
}

/** 0 and up to 5 evenly spaced round values covering `max` (steps of 1, 2 or 5 times a power of ten). */
export function valueTicks(max: number, whole: boolean): number[] {
  const top = max > 0 ? max : 1;
  const raw = top / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  if (whole) step = Math.max(1, Math.round(step));
  const ticks: number[] = [];
  for (let v = 0; v < top + step - 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function xAxis(from: number, to: number, x: (t: number) => number, y0: number, left = M.left): string {
  const parts = [`<g class="axis axis-x"><line x1="${left}" y1="${y0}" x2="${W - M.right}" y2="${y0}"/>`];
  for (const t of timeTicks(from, to)) {
    const px = n1(x(t.at));
    parts.push(`<line class="tick" x1="${px}" y1="${y0}" x2="${px}" y2="${y0 + 4}"/><text class="tick-label" x="${px}" y="${y0 + 16}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  parts.push(`<text class="axis-label" x="${W - M.right}" y="${y0 + 30}" text-anchor="end">time (UTC), ${esc(isoMinute(from))} – ${esc(isoMinute(to))}</text></g>`);
  return parts.join("");
}

/** A line chart of values over time, one polyline and one point mark per value of each series. */
export function renderTimeChart(spec: TimeChartSpec): string {
  const fmt = spec.format ?? plainNumber;
  const all = spec.series.flatMap((s) => s.points.map((p) => p.value));
  const whole = all.every((v) => Number.isInteger(v));
  const yTicks = valueTicks(Math.max(0, ...all), whole);
  const yMax = yTicks[yTicks.length - 1];
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (t: number): number => M.left + ((t - spec.from) / Math.max(1, spec.to - spec.from)) * plotW;
  const y = (v: number): number => M.top + plotH - (v / yMax) * plotH;
  const y0 = M.top + plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${esc(spec.id)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="${esc(spec.id)}-title">`,
    `<title id="${esc(spec.id)}-title">${esc(spec.title)}</title>`,
    `<g class="axis axis-y">`,
  ];
  for (const v of yTicks) {
    const py = n1(y(v));
    out.push(`<line class="grid" x1="${M.left}" y1="${py}" x2="${W - M.right}" y2="${py}"/><text class="tick-label" x="${M.left - 6}" y="${py}" dy="0.32em" text-anchor="end">${esc(fmt(v))}</text>`);
  }
  out.push(`<text class="axis-label" transform="translate(14 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(spec.unit)}</text></g>`);
  out.push(xAxis(spec.from, spec.to, x, y0));
  for (const s of spec.series) {
    const pts = [...s.points].sort((a, b) => a.at - b.at);
    out.push(`<g class="series s-${esc(s.key)}" data-series="${esc(s.key)}">`);
    // One polyline per run of points no further apart than joinWithin.
    let run: ChartPoint[] = [];
    const flush = (): void => {
      if (run.length > 1) out.push(`<polyline class="line" points="${run.map((p) => `${n1(x(p.at))},${n1(y(p.value))}`).join(" ")}"/>`);
      run = [];
    };
    for (const p of pts) {
      if (run.length && p.at - run[run.length - 1].at > spec.joinWithin) flush();
      run.push(p);
    }
    flush();
    for (const p of pts) {
      out.push(`<circle class="point" cx="${n1(x(p.at))}" cy="${n1(y(p.value))}" r="2.5"><title>${esc(`${s.label}: ${fmt(p.value)} ${spec.unit} at ${isoMinute(p.at)}`)}</title></circle>`);
    }
    out.push("</g>");
  }
  // Legend under the axis caption.
  let lx = M.left;
  out.push(`<g class="legend">`);
  for (const s of spec.series) {
    out.push(`<g class="s-${esc(s.key)}"><rect class="swatch" x="${lx}" y="${H - 14}" width="10" height="10"/><text x="${lx + 14}" y="${H - 5}">${esc(s.label)}</text></g>`);
    lx += 24 + s.label.length * 7;
  }
  out.push("</g></svg>");
  return out.join("");
}

export interface TimelineMark {
  at: number;
  /** Class suffix (k-KIND): bad, modified, extra, clean, dirty. */
  kind: string;
  href: string;
  title: string;
}

export interface TimelineRow {
  label: string;
  marks: TimelineMark[];
}

export interface TimelineSpec {
  id: string;
  title: string;
  from: number;
  to: number;
  rows: TimelineRow[];
}

const ROW_H = 18;
const LABEL_W = 250;

/** One row per entry (and one for the runs), a linked mark at each run's time coloured by its kind. */
export function renderTimeline(spec: TimelineSpec): string {
  const top = 8;
  const height = top + spec.rows.length * ROW_H + 46;
  const plotW = W - LABEL_W - M.right;
  const x = (t: number): number => LABEL_W + ((t - spec.from) / Math.max(1, spec.to - spec.from)) * plotW;
  const y0 = top + spec.rows.length * ROW_H;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline" id="${esc(spec.id)}" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-labelledby="${esc(spec.id)}-title">`,
    `<title id="${esc(spec.id)}-title">${esc(spec.title)}</title>`,
  ];
  spec.rows.forEach((row, i) => {
    const ry = top + i * ROW_H;
    const label = row.label.length > 36 ? `${row.label.slice(0, 35)}…` : row.label;
    out.push(`<g class="row" data-label="${esc(row.label)}"><rect class="band${i % 2 ? " odd" : ""}" x="0" y="${ry}" width="${W - M.right}" height="${ROW_H}"/>`);
    out.push(`<text class="row-label" x="4" y="${ry + 13}"><title>${esc(row.label)}</title>${esc(label)}</text>`);
    for (const m of row.marks) {
      out.push(`<a href="${esc(m.href)}"><rect class="mark k-${esc(m.kind)}" x="${n1(x(m.at) - 2)}" y="${ry + 3}" width="4" height="${ROW_H - 6}"><title>${esc(m.title)}</title></rect></a>`);
    }
    out.push("</g>");
  });
  out.push(xAxis(spec.from, spec.to, x, y0, LABEL_W));
  out.push("</svg>");
  return out.join("");
}
