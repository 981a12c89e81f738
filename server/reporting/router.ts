// The read-only reporting web UI as an express Router (mounted at /reports): login, summary,
// client grid, one client's history and entries, entries across clients, common problems and run
// timings, each "as of" ?as_of=ISO-time. Pages are Jinja2 templates (server/templates/jinja2) with
// autoescape on: every entry name, attribute and diff comes from a client and is untrusted.
import { readFileSync } from "node:fs";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { Logger } from "pino";
import { VacfgError } from "../../protocol/errors.js";
import type { Store } from "../store/store.js";
import { LOGIN_UNAVAILABLE_RETRY_S, type AdminGate, type AdminSurface, type Refusal } from "./admin-gate.js";
import { retryAfterSeconds } from "./login-throttle.js";
import { stylesheetPath, viewsDir } from "./assets.js";
import { Jinja2Engine } from "../templates/jinja2/index.js";
import { DirectoryLoader } from "../templates/directory-loader.js";
import {
  clientDetail,
  clientRows,
  commonProblems,
  DEFAULT_STALE_HOURS,
  entriesAcross,
  filterRows,
  paginate,
  parseAsOf,
  parsePage,
  parseStaleHours,
  phaseMeans,
  phaseNames,
  PROBLEM_KINDS,
  reportOptions,
  runPhases,
  summarize,
  timingRows,
  type PageInfo,
  type ProblemKind,
} from "./report-model.js";
import { durationSeries, entryTimeline, parseWindow, SeriesCache, stateSeries, TIMELINE_ROWS, TIMELINE_RUNS, WINDOW_CHOICES, type ChartWindow } from "./fleet-history.js";
import { durationChart, stateChart, timelineChart } from "./report-charts.js";
import { membersOf, MEMBER_KINDS } from "./member-views.js";

export interface ReportsOptions {
  store: Store;
  /** The admin gate shared with /metrics and /api/v1 (admin-gate.ts). */
  gate: AdminGate;
  /** Default stale interval (hours) when the page does not say (?stale_hours=). */
  staleHours?: number;
  logger?: Logger;
}

/** A page of a long list, with links to its neighbours that keep every other query parameter. */
interface Pager {
  info: PageInfo;
  prev?: string;
  next?: string;
}

function pagerOf(req: Request, info: PageInfo): Pager {
  const link = (page: number): string => {
    const q = new URLSearchParams(req.url.includes("?") ? req.url.slice(req.url.indexOf("?") + 1) : "");
    q.set("page", String(page));
    return `${req.baseUrl}${req.path}?${q.toString()}`;
  };
  const p: Pager = { info };
  if (info.page > 1) p.prev = link(Math.min(info.page - 1, info.pages));
  if (info.page < info.pages) p.next = link(info.page + 1);
  return p;
}

const pageOf = (req: Request) => parsePage(req.query.page, req.query.per_page);

function one(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

const REPORT_FILTERS: Record<string, (value: unknown, ...args: unknown[]) => unknown> = {
  iso: (ms) => (typeof ms === "number" && Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z") : ""),
  secs: (s) => (typeof s === "number" ? s.toFixed(3) : ""),
  // A bucket size in ms as people say it: "15 min", "2 h", "1 day".
  duration: (ms) => {
    if (typeof ms !== "number") return "";
    if (ms % 86_400_000 === 0) return `${ms / 86_400_000} day${ms === 86_400_000 ? "" : "s"}`;
    if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
    return `${Math.round(ms / 60_000)} min`;
  },
  ago: (ms, asOf) => {
    if (typeof ms !== "number" || typeof asOf !== "number") return "";
    const d = Math.max(0, asOf - ms) / 1000;
    if (d < 90) return `${Math.round(d)} s ago`;
    if (d < 5400) return `${Math.round(d / 60)} min ago`;
    if (d < 172800) return `${Math.round(d / 3600)} h ago`;
    return `${Math.round(d / 86400)} days ago`;
  },
  // One class per diff line so that +/- lines are coloured; the text itself is escaped by the template.
  diffLines: (text) =>
    (typeof text === "string" ? text : "")
      .split("\n")
      .map((line) => ({ line, cls: line.startsWith("+++") || line.startsWith("---") ? "hdr" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "" })),
};

function createEnvironment(): Jinja2Engine {
  return new Jinja2Engine({ loader: new DirectoryLoader(viewsDir()), autoescape: true, filters: REPORT_FILTERS });
}

export function createReportsRouter(opts: ReportsOptions): Router {
  const env = createEnvironment();
  const css = readFileSync(stylesheetPath());
  const gate = opts.gate;
  const defaultStale = opts.staleHours ?? DEFAULT_STALE_HOURS;
  const store = opts.store;
  const router = express.Router();
  const series = new SeriesCache();

  /**
   * The as-of/stale/window settings of this request, the query string that keeps them on every
   * link, and the links to the same page over each offered window.
   */
  const viewOf = (req: Request) => {
    const asOfRaw = one(req.query.as_of);
    const staleRaw = one(req.query.stale_hours);
    const windowRaw = one(req.query.window);
    const staleHours = parseStaleHours(staleRaw, defaultStale);
    const ro = reportOptions(parseAsOf(asOfRaw), staleHours);
    const win: ChartWindow = parseWindow(windowRaw, ro.asOf);
    const params = new URLSearchParams();
    if (asOfRaw) params.set("as_of", new Date(ro.asOf).toISOString());
    if (staleRaw) params.set("stale_hours", String(staleHours));
    const keepOf = (p: URLSearchParams): string => (p.toString() ? `?${p.toString()}` : "");
    const windows = WINDOW_CHOICES.map((label) => {
      const p = new URLSearchParams(params);
      p.set("window", label);
      return { label, href: `${req.baseUrl}${req.path}${keepOf(p)}`, current: label === win.label };
    });
    if (windowRaw) params.set("window", win.label);
    return { ro, keep: keepOf(params), asOfGiven: !!asOfRaw, staleHours, win, windows };
  };

  const render = (req: Request, res: Response, view: string, ctx: Record<string, unknown>, status = 200): void => {
    const v = ctx.view ?? viewOf(req);
    const html = env.renderNamed(view, { base: req.baseUrl, path: req.path, ...ctx, view: v });
    res.status(status).set({ "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", ...SECURITY_HEADERS }).send(html);
  };

  router.get("/reports.css", (_req, res) => {
    res.set({ "Content-Type": "text/css; charset=utf-8", "Cache-Control": "max-age=300" }).send(css);
  });

  router.get("/login", (req, res) => render(req, res, "login.jinja2", { anonymous: true, view: { keep: "", ro: reportOptions(Date.now(), defaultStale) }, next: safeNext(one(req.query.next)) }));
  /** 429 for a locked-out address; the password is not looked at. */
  const lockedOut = (req: Request, res: Response, retryAfterMs: number, view: string, ctx: Record<string, unknown>): void => {
    const seconds = retryAfterSeconds(retryAfterMs);
    res.set("Retry-After", String(seconds));
    const wait = seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
    const message = `Too many failed logins from your address. Logins from it are refused for ${wait}, even with the right password.`;
    render(req, res, view, { anonymous: true, view: { keep: "", ro: reportOptions(Date.now(), defaultStale) }, ...ctx, status: 429, locked: message, message }, 429);
  };
  /** 503 when the store cannot tell whether the address is locked out; the password is not looked at. */
  const loginUnavailable = (req: Request, res: Response, view: string, ctx: Record<string, unknown>): void => {
    res.set("Retry-After", String(LOGIN_UNAVAILABLE_RETRY_S));
    const message = "Logins cannot be checked right now (the server's store is not answering). Try again shortly.";
    render(req, res, view, { anonymous: true, view: { keep: "", ro: reportOptions(Date.now(), defaultStale) }, ...ctx, status: 503, locked: message, message }, 503);
  };

  /** The gate's refusals as the UI's pages: a GET without a session goes to the login form. */
  const surface: AdminSurface = {
    realm: "vacfg reports",
    refuse: (req: Request, res: Response, r: Refusal) => {
      if (r.status === 429) return lockedOut(req, res, (r.retryAfterS ?? 1) * 1000, "error.jinja2", {});
      if (r.status === 503) return loginUnavailable(req, res, "error.jinja2", {});
      if (r.status === 401 && (req.method === "GET" || req.method === "HEAD")) {
        res.redirect(303, `${req.baseUrl}/login?next=${encodeURIComponent(req.url)}`);
        return;
      }
      if (r.status === 401) {
        res.status(401).set({ "Content-Type": "text/plain; charset=utf-8", ...SECURITY_HEADERS }).send(`${r.message}\n`);
        return;
      }
      render(req, res, "error.jinja2", { anonymous: true, view: { keep: "", ro: reportOptions(Date.now(), defaultStale) }, status: r.status, message: r.message }, r.status);
    },
  };

  router.post("/login", gate.sameOrigin(surface), express.urlencoded({ extended: false, limit: "8kb" }), async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = safeNext(one(body.next));
    const r = await gate.login(req, one(body.user) ?? "", one(body.password) ?? "");
    if (r.kind === "ok") {
      res.set("Set-Cookie", r.cookie).redirect(303, `${req.baseUrl}${next}`);
      return;
    }
    if (r.kind === "unavailable") return loginUnavailable(req, res, "login.jinja2", { next });
    if (r.kind === "locked") return lockedOut(req, res, r.retryAfterMs, "login.jinja2", { next });
    render(req, res, "login.jinja2", { anonymous: true, view: { keep: "", ro: reportOptions(Date.now(), defaultStale) }, next, failed: true }, 401);
  });
  // The session ends in the store: its cookie is refused by every process from now on.
  router.post("/logout", gate.sameOrigin(surface), async (req, res) => {
    res.set("Set-Cookie", await gate.logout(req)).redirect(303, `${req.baseUrl}/login`);
  });

  // Everything below needs the admin.
  router.use(gate.protect(surface));

  router.get("/", async (req, res) => {
    const view = viewOf(req);
    const [rows, states, durations] = await Promise.all([clientRows(store, view.ro), stateSeries(store, view.win, view.staleHours, undefined, series), durationSeries(store, view.win, {}, series)]);
    const problems = await commonProblems(store, rows, 2);
    render(req, res, "summary.jinja2", {
      view,
      summary: summarize(rows, view.ro),
      problems: problems.slice(0, 10),
      recent: rows.filter((r) => r.lastRun).sort((a, b) => b.lastRun!.timestamp - a.lastRun!.timestamp).slice(0, 10),
      states,
      durations,
      stateSvg: stateChart("chart-states", `Clients by state over ${view.win.label}`, view.win, states),
      durationSvg: durationChart("chart-durations", `Run durations over ${view.win.label}`, view.win, durations),
    });
  });

  // Groups and bundles: each holds the clients whose newest run carried it.
  for (const [kind, plural] of [["group", "groups"], ["bundle", "bundles"]] as const) {
    router.get(`/${plural}`, async (req, res) => {
      const view = viewOf(req);
      const members = await membersOf(store, MEMBER_KINDS[kind], await clientRows(store, view.ro), view.ro);
      render(req, res, "members.jinja2", { view, kind, plural, members });
    });
    router.get(`/${kind}/:name`, async (req, res) => {
      const view = viewOf(req);
      const name = String(req.params.name);
      const member = { kind: MEMBER_KINDS[kind], name };
      const rows = await clientRows(store, view.ro);
      const group = (await membersOf(store, member.kind, rows, view.ro)).find((m) => m.name === name);
      const [states, durations] = await Promise.all([stateSeries(store, view.win, view.staleHours, member, series), durationSeries(store, view.win, { member }, series)]);
      // Known only from the past (no client's newest run has it now): still charted, said so.
      if (!group && states.every((p) => p.clients === 0)) {
        return render(req, res, "error.jinja2", { view, status: 404, message: `No client's run carried the ${kind} "${name}" as of ${new Date(view.ro.asOf).toISOString()} or in the ${view.win.label} before.` }, 404);
      }
      const { items, info } = paginate(group?.rows ?? [], pageOf(req));
      render(req, res, "member.jinja2", {
        view,
        kind,
        plural,
        name,
        summary: group?.summary,
        rows: items,
        pager: pagerOf(req, info),
        problems: (await commonProblems(store, group?.rows ?? [], 1)).slice(0, 20),
        states,
        durations,
        stateSvg: stateChart("chart-states", `Clients of ${kind} ${name} by state over ${view.win.label}`, view.win, states),
        durationSvg: durationChart("chart-durations", `Run durations of ${kind} ${name} over ${view.win.label}`, view.win, durations),
      });
    });
  }

  router.get("/clients", async (req, res) => {
    const view = viewOf(req);
    const filter = { client: one(req.query.client) ?? "", state: one(req.query.state) ?? "" };
    const page = pageOf(req);
    const { items: rows, info } = paginate(filterRows(await clientRows(store, view.ro), filter), page);
    render(req, res, "clients.jinja2", { view, rows, pager: pagerOf(req, info), filter, states: ["clean", "bad", "modified", "extra", "dirty", "stale", "never"] });
  });

  router.get("/client/:name", async (req, res) => {
    const view = viewOf(req);
    const name = String(req.params.name);
    const runRaw = one(req.query.run);
    if (runRaw !== undefined && !/^\d{1,15}$/.test(runRaw)) throw new VacfgError("REPORT_QUERY", `run: "${runRaw.slice(0, 32)}" is not a run id`);
    const detail = await clientDetail(store, name, view.ro, runRaw === undefined ? undefined : Number(runRaw), pageOf(req));
    if (!detail) return render(req, res, "error.jinja2", { view, status: 404, message: `No client named "${name}" is known as of ${new Date(view.ro.asOf).toISOString()}.` }, 404);
    const [timeline, durations, members] = await Promise.all([
      entryTimeline(store, name, view.win),
      durationSeries(store, view.win, { client: name }, series),
      detail.run ? store.getRunMembers(detail.run.id) : undefined,
    ]);
    const runHref = (id: number): string => `${req.baseUrl}/client/${encodeURIComponent(name)}${view.keep}${view.keep ? "&" : "?"}run=${id}`;
    render(req, res, "client.jinja2", {
      view,
      d: detail,
      members,
      pager: pagerOf(req, detail.historyPage),
      phases: detail.run ? runPhases(detail.run) : undefined,
      kinds: PROBLEM_KINDS,
      timeline,
      limits: { runs: TIMELINE_RUNS, rows: TIMELINE_ROWS },
      timelineSvg: timelineChart("chart-timeline", name, view.win, timeline, runHref),
      durations,
      durationSvg: durationChart("chart-durations", `Run durations of ${name} over ${view.win.label}`, view.win, durations),
    });
  });

  router.get("/entries/:kind", async (req, res) => {
    const view = viewOf(req);
    const kind = String(req.params.kind);
    if (!(PROBLEM_KINDS as readonly string[]).includes(kind)) throw new VacfgError("REPORT_QUERY", `entry kind "${kind.slice(0, 32)}" is not one of ${PROBLEM_KINDS.join(", ")}`);
    const page = pageOf(req);
    const { items: list, info } = paginate(await entriesAcross(store, kind as ProblemKind, await clientRows(store, view.ro)), page);
    render(req, res, "entries.jinja2", { view, kind, list, pager: pagerOf(req, info) });
  });

  router.get("/common", async (req, res) => {
    const view = viewOf(req);
    const minRaw = one(req.query.min) ?? "2";
    if (!/^\d{1,6}$/.test(minRaw) || Number(minRaw) < 1) throw new VacfgError("REPORT_QUERY", `min: "${minRaw.slice(0, 32)}" must be a whole number of clients, 1 or more`);
    const problems = await commonProblems(store, await clientRows(store, view.ro), Number(minRaw));
    render(req, res, "common.jinja2", { view, problems, min: Number(minRaw) });
  });

  router.get("/timings", async (req, res) => {
    const view = viewOf(req);
    const rows = timingRows(await clientRows(store, view.ro));
    const names = phaseNames(rows);
    const cells = rows.map((r) => ({ ...r, byPhase: Object.fromEntries(r.phases.map((p) => [p.phase, p.seconds])) }));
    render(req, res, "timings.jinja2", { view, rows: cells, names, means: phaseMeans(rows) });
  });

  router.use((req, res) => render(req, res, "error.jinja2", { status: 404, message: `No report at ${req.path}.` }, 404));

  // Express 5 sends rejected promises here. A bad query parameter is the caller's mistake (400,
  // with its message); anything else is logged and shown without internals.
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const bad = err instanceof VacfgError && err.code === "REPORT_QUERY";
    if (!bad) opts.logger?.error({ err, path: req.path }, "reporting page failed");
    const status = bad ? 400 : 500;
    const message = bad ? (err as Error).message : "The report could not be built; the server log has the details.";
    try {
      render(req, res, "error.jinja2", { view: { keep: "", ro: reportOptions(Date.now(), defaultStale) }, status, message }, status);
    } catch {
      res.status(status).type("text/plain").send(`${message}\n`);
    }
  });
  return router;
}

const SECURITY_HEADERS = {
  "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Content-Type-Options": "nosniff",
  // Same-origin requests keep Origin/Referer (the admin gate checks them on POST); others get none.
  "Referrer-Policy": "same-origin",
};

/** Only a path inside the reporting UI may follow a login (no open redirect to another site). */
function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])[^\s]*$/.test(next) ? next : "/";
}
