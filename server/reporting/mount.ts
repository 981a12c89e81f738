// What the HTTPS front mounts besides XML-RPC: the reporting UI at /reports and /metrics, plus the
// metric set the XML-RPC handler feeds. startServer calls reportingWeb() and hands both to serveApi.
import type { Express, Request, Response } from "express";
import type { Logger } from "pino";
import type { Store } from "../store/store.js";
import { createServerMetrics, METRICS_CONTENT_TYPE, type ServerMetrics } from "../http/metrics.js";
import { isLocalhost, peerAddress } from "../http/peer.js";
import { admitAdmin, createAdminAuth, loadAdminPassword } from "./admin-session.js";
import { retryAfterSeconds, type LoginThrottleOptions } from "./login-throttle.js";
import { createStoredLoginThrottle } from "./stored-login-throttle.js";
import { CLIENT_STATES, clientRows, DEFAULT_STALE_HOURS, reportOptions } from "./report-model.js";
import { createReportsRouter, LOGIN_UNAVAILABLE_RETRY_S } from "./router.js";

export const REPORTS_PATH = "/reports";
export const METRICS_PATH = "/metrics";

export interface ReportingWebOptions {
  store: Store;
  /** Admin password; default $VACFG_ADMIN_PASSWORD or DATA_DIR/admin-password (see admin-session.ts). */
  adminPassword?: string;
  dataDir: string;
  staleHours?: number;
  logger?: Logger;
  /** Failed-login limits (defaults in login-throttle.ts); `now` lets tests move the clock. */
  loginThrottle?: Omit<LoginThrottleOptions, "logger">;
}

export interface ReportingWeb {
  metrics: ServerMetrics;
  routes: (app: Express) => void;
}

/** Clients per state right now (for the vacfg_clients gauge). */
export async function clientStateCounts(store: Store, staleHours = DEFAULT_STALE_HOURS): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(CLIENT_STATES.map((s) => [s, 0]));
  for (const r of await clientRows(store, reportOptions(Date.now(), staleHours))) counts[r.state]++;
  return counts;
}

export function reportingWeb(opts: ReportingWebOptions): ReportingWeb {
  const staleHours = opts.staleHours ?? DEFAULT_STALE_HOURS;
  const metrics = createServerMetrics(() => clientStateCounts(opts.store, staleHours));
  let adminPassword: string;
  try {
    adminPassword = opts.adminPassword ?? loadAdminPassword(opts.dataDir);
    createAdminAuth(adminPassword);
  } catch (e) {
    // Without a usable admin password the UI stays off, but the configuration server still runs.
    const reason = (e as Error).message;
    opts.logger?.error({ component: "reporting", err: reason }, "reporting UI and /metrics disabled");
    const off = (_req: Request, res: Response): void => void res.status(503).type("text/plain").send(`reporting is disabled: ${reason}\n`);
    return { metrics, routes: (app) => void app.use([REPORTS_PATH, METRICS_PATH], off) };
  }
  const auth = createAdminAuth(adminPassword, REPORTS_PATH);
  const log = opts.logger?.child({ component: "reporting" });
  // One count of failed logins for the form, the pages' Basic auth and /metrics alike, kept in the store
  // so that every process on it (--workers N, servers behind a load balancer) shares it.
  const throttle = createStoredLoginThrottle({ store: opts.store, ...opts.loginThrottle, ...(log ? { logger: log } : {}) });
  const router = createReportsRouter({ store: opts.store, adminPassword, staleHours, mountPath: REPORTS_PATH, throttle, ...(log ? { logger: log } : {}) });

  const serveMetrics = async (req: Request, res: Response): Promise<void> => {
    // Prometheus on the server itself scrapes without credentials; from elsewhere, the admin's.
    const address = peerAddress(req.socket);
    if (!isLocalhost(address)) {
      const who = await admitAdmin(auth, throttle, req, address);
      if (who.kind === "locked") {
        const seconds = retryAfterSeconds(who.retryAfterMs);
        res.status(429).set({ "Retry-After": String(seconds), "Content-Type": "text/plain" }).send(`too many failed logins from ${address}; retry after ${seconds} s\n`);
        return;
      }
      if (who.kind === "unavailable") {
        res.status(503).set({ "Retry-After": String(LOGIN_UNAVAILABLE_RETRY_S), "Content-Type": "text/plain" }).send("logins cannot be checked right now; retry shortly\n");
        return;
      }
      if (who.kind !== "admin") {
        res.status(401).set({ "WWW-Authenticate": 'Basic realm="vacfg metrics"', "Content-Type": "text/plain" }).send("admin credentials required\n");
        return;
      }
    }
    res.set("Content-Type", METRICS_CONTENT_TYPE).send(await metrics.registry.render());
  };

  return {
    metrics,
    routes: (app) => {
      app.get(METRICS_PATH, serveMetrics);
      app.use(REPORTS_PATH, router);
    },
  };
}
