// `vacfg reports` without the CLI framing: the same views as the web UI, read from the store, as
// aligned text tables or JSON. Client-sent text is stripped of control characters so that a
// hostile entry name cannot drive the admin's terminal.
import { VacfgError } from "../../protocol/errors.js";
import type { Store } from "../store/store.js";
import {
  clientDetail,
  clientRows,
  commonProblems,
  entriesAcross,
  filterRows,
  paginate,
  parseAsOf,
  parsePage,
  parseStaleHours,
  phaseNames,
  PROBLEM_KINDS,
  reportOptions,
  summarize,
  timingRows,
  type PageInfo,
  type ProblemKind,
} from "./report-model.js";

export const REPORT_VIEWS = ["summary", "clients", "client", "bad", "modified", "extra", "common", "timings"] as const;
export type ReportView = (typeof REPORT_VIEWS)[number];

export interface TextReportOptions {
  view: ReportView;
  /** Client name (view "client") or a name filter (other views). */
  client?: string;
  state?: string;
  asOf?: string;
  staleHours?: string | number;
  json?: boolean;
  /** Minimum number of clients for "common" (default 2). */
  min?: number;
  /** One page of the clients, entries or client history (`--page`, `--per-page`); without either, every row (history: the newest 100). */
  page?: string;
  perPage?: string;
}

/** "rows 101–200 of 250 (page 2 of 3)" under a paged table. */
function pageLine(info: PageInfo, what: string): string {
  const rows = info.from ? `${what} ${info.from}–${info.to} of ${info.total}` : `no ${what} on this page, ${info.total} in all`;
  return `${rows} (page ${info.page} of ${info.pages})\n`;
}

/** Shows control characters (ESC, CR, …) as \xNN instead of passing them to the terminal. */
export function clean(s: unknown): string {
  // eslint-disable-next-line no-control-regex
  return String(s ?? "").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export function table(head: string[], rows: Array<Array<string | number>>): string {
  const cells = [head, ...rows.map((r) => r.map((c) => clean(c).replace(/\n/g, "\\n")))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(cells[0]), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)].join("\n") + "\n";
}

const iso = (ms: number | undefined): string => (ms === undefined ? "" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"));

/** Renders one report; JSON output is the report model as is (times in ms since epoch). */
export async function renderTextReport(store: Store, o: TextReportOptions): Promise<string> {
  if (!(REPORT_VIEWS as readonly string[]).includes(o.view)) throw new VacfgError("REPORT_QUERY", `view "${clean(o.view)}" is not one of ${REPORT_VIEWS.join(", ")}`);
  const ro = reportOptions(parseAsOf(o.asOf), parseStaleHours(o.staleHours));
  const out = (data: unknown, text: () => string): string => (o.json ? JSON.stringify(data, null, 2) + "\n" : text());
  const paging = o.page !== undefined || o.perPage !== undefined ? parsePage(o.page, o.perPage, { page: "--page", perPage: "--per-page" }) : undefined;
  /** The page asked for (or everything), and how to print it: JSON gets {page, …, items}. */
  const paged = <T>(all: T[], text: (items: T[]) => string): string => {
    if (!paging) return out(all, () => text(all));
    const { items, info } = paginate(all, paging);
    return out({ ...info, items }, () => text(items) + pageLine(info, "rows"));
  };
  const all = await clientRows(store, ro);
  const rows = o.view === "client" ? all : filterRows(all, { client: o.client, state: o.state });

  switch (o.view) {
    case "summary": {
      const s = summarize(rows, ro);
      return out(s, () =>
        `as of ${iso(s.asOf)}, stale after ${s.staleHours} h\n` +
        table(["clients", "clean", "bad", "modified", "extra", "stale", "never"], [[s.total, s.clean, s.bad, s.modified, s.extra, s.stale, s.never]]),
      );
    }
    case "clients":
      return paged(rows, (rows) =>
        table(
          ["client", "profile", "state", "last run", "total", "good", "bad", "modified", "extra"],
          rows.map((r) => [r.name, r.profile, r.state, iso(r.lastRun?.timestamp), r.lastRun?.total ?? "", r.lastRun?.good ?? "", r.lastRun?.bad ?? "", r.lastRun?.modified ?? "", r.lastRun?.extra ?? ""]),
        ),
      );
    case "client": {
      if (!o.client) throw new VacfgError("REPORT_QUERY", "the client view needs --client NAME");
      const d = await clientDetail(store, o.client, ro, undefined, paging);
      if (!d) throw new VacfgError("REPORT_QUERY", `no client named "${clean(o.client)}" as of ${iso(ro.asOf)}`);
      return out(d, () => {
        let t = `${clean(d.row.name)}: ${d.row.state}, profile ${clean(d.row.profile) || "?"}\n`;
        if (d.run) t += `run ${d.run.id} at ${iso(d.run.timestamp)}: ${d.run.state}, ${d.run.total} total, ${d.run.good} good, ${d.run.bad} bad, ${d.run.modified} modified, ${d.run.extra} extra\n`;
        for (const kind of PROBLEM_KINDS) {
          if (!d.entries[kind].length) continue;
          t += `\n${kind} entries:\n`;
          for (const e of d.entries[kind]) {
            // failure= is why the server could not build the entry (file:line); current_* what the client found.
            const attrs = Object.entries(e.attrs).filter(([k]) => k === "failure" || (k.startsWith("current_") && k !== "current_bfile")).map(([k, v]) => `${k}=${clean(v)}`);
            t += `  ${clean(e.tag)} ${clean(e.name)}${attrs.length ? `  (${attrs.join(" ")})` : ""}\n`;
            if (e.diff) t += e.diff.split("\n").filter((l) => l !== "").map((l) => `    ${clean(l)}\n`).join("");
          }
        }
        t += "\nhistory:\n" + table(["run", "time", "state", "bad", "modified", "extra"], d.history.map((r) => [r.id, iso(r.timestamp), r.state, r.bad, r.modified, r.extra]));
        if (paging || d.historyPage.pages > 1) t += pageLine(d.historyPage, "runs");
        return t;
      });
    }
    case "bad":
    case "modified":
    case "extra": {
      const list = await entriesAcross(store, o.view as ProblemKind, rows);
      return paged(list, (list) => table(["type", "name", "client", "run time"], list.map((x) => [x.entry.tag, x.entry.name, x.client, iso(x.runTime)])));
    }
    case "common": {
      const problems = await commonProblems(store, rows, o.min ?? 2);
      return out(problems, () => table(["kind", "type", "name", "clients", "which"], problems.map((p) => [p.kind, p.tag, p.name, p.clients.length, p.clients.join(",")])));
    }
    case "timings": {
      const t = timingRows(rows);
      const names = phaseNames(t);
      return out(t, () =>
        table(
          ["client", ...names, "total"],
          t.map((r) => [r.client, ...names.map((n) => r.phases.find((p) => p.phase === n)?.seconds.toFixed(3) ?? ""), r.totalSeconds.toFixed(3)]),
        ),
      );
    }
  }
}
