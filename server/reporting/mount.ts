// What the HTTPS front mounts besides XML-RPC: the admin surfaces — the reporting UI at /reports,
// /metrics, and JSON APIs such as the workspace API at /api/v1 — all behind one admin gate
// (admin-gate.ts), plus the metric set the XML-RPC handler feeds. startServer calls reportingWeb()
// and hands both to serveApi.
import type { Express, Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import type { Store } from "../store/store.js";
import { createServerMetrics, METRICS_CONTENT_TYPE, type ServerMetrics } from "../http/metrics.js";
import { createAdminGate, type AdminGate, type AdminSurface } from "./admin-gate.js";
import { loadAdminPassword } from "./admin-session.js";
import type { LoginThrottleOptions } from "./login-throttle.js";
import { CLIENT_STATES, clientRows, DEFAULT_STALE_HOURS, reportOptions } from "./report-model.js";
import { createReportsRouter } from "./router.js";

export const REPORTS_PATH = "/reports";
export const METRICS_PATH = "/metrics";

export interface ReportingWebOptions {
  store: Store;
  /** Admin password; default $VACFG_ADMIN_PASSWORD or DATA_DIR/admin-password (see admin-session.ts). */
  adminPassword?: string;
  dataDir: string;
  staleHours?: number;
  logger?: Logger;
  /** Failed-login limits (defaults in login-throttle.ts); `now` lets tests move the clock (sessions' too). */
  loginThrottle?: Omit<LoginThrottleOptions, "logger">;
  /** JSON APIs behind the same gate, by mount path (e.g. the workspace API at /api/v1). */
  adminApis?: Record<string, RequestHandler>;
}

export interface ReportingWeb {
  metrics: ServerMetrics;
  routes: (app: Express) => void;
}

/** /metrics: loopback scrapes without credentials, anyone else needs the admin's. */
export const METRICS_SURFACE: AdminSurface = { realm: "vacfg metrics", loopbackFree: true };
/** A JSON API: state-changing calls need JSON and the same origin; refusals are JSON. */
export const ADMIN_API_SURFACE: AdminSurface = { realm: "vacfg api", jsonApi: true };

/** Clients per state right now (for the vacfg_clients gauge). */
export async function clientStateCounts(store: Store, staleHours = DEFAULT_STALE_HOURS): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(CLIENT_STATES.map((s) => [s, 0]));
  for (const r of await clientRows(store, reportOptions(Date.now(), staleHours))) counts[r.state]++;
  return counts;
}

export function reportingWeb(opts: ReportingWebOptions): ReportingWeb {
  const staleHours = opts.staleHours ?? DEFAULT_STALE_HOURS;
  const metrics = createServerMetrics(() => clientStateCounts(opts.store, staleHours));
  const log = opts.logger?.child({ component: "reporting" });
  let gate: AdminGate;
  try {
    const adminPassword = opts.adminPassword ?? loadAdminPassword(opts.dataDir);
    gate = createAdminGate({ store: opts.store, adminPassword, ...(opts.loginThrottle ? { loginThrottle: opts.loginThrottle } : {}), ...(log ? { logger: log } : {}) });
  } catch (e) {
    // Without a usable admin password the admin surfaces stay off, but the configuration server still runs.
    const reason = (e as Error).message;
    opts.logger?.error({ component: "reporting", err: reason }, "reporting UI, /metrics and admin APIs disabled");
    const off = (_req: Request, res: Response): void => void res.status(503).type("text/plain").send(`reporting is disabled: ${reason}\n`);
    return { metrics, routes: (app) => void app.use([REPORTS_PATH, METRICS_PATH, ...Object.keys(opts.adminApis ?? {})], off) };
  }
  const router = createReportsRouter({ store: opts.store, gate, staleHours, ...(log ? { logger: log } : {}) });
  const serveMetrics = async (_req: Request, res: Response): Promise<void> => {
    res.set("Content-Type", METRICS_CONTENT_TYPE).send(await metrics.registry.render());
  };

  return {
    metrics,
    routes: (app) => {
      app.get(METRICS_PATH, gate.protect(METRICS_SURFACE), serveMetrics);
      app.use(REPORTS_PATH, router);
      for (const [path, api] of Object.entries(opts.adminApis ?? {})) app.use(path, gate.protect(ADMIN_API_SURFACE), api);
    },
  };
}
