// startServer: the whole configuration server from its settings — open the store, load the
// plugins into a Core, and serve it over HTTPS. Everything opened is closed again on failure.
import { mkdirSync } from "node:fs";
import type { Express } from "express";
import type { Logger } from "pino";
import type { ServerSettings } from "./core/context.js";
import type { Core } from "./core/core.js";
import { openCore } from "./admin/open-core.js";
import type { Store } from "./store/store.js";
import type { TlsMaterial } from "./http/app.js";
import { componentLogger, createLogger } from "./http/logger.js";
import { ctxParamsRoute } from "./http/ctx-params-route.js";
import { serveApi, type RunningServer } from "./http/serve.js";
import { reportingWeb, type ReportingWebOptions } from "./reporting/mount.js";
import { CLIENT_AUTH_LIMITS, createClientAuthLimit } from "./http/client-auth-limit.js";
import { createStoredLoginThrottle } from "./reporting/stored-login-throttle.js";
import { startRetention } from "./reporting/retention.js";

export type { RunningServer } from "./http/serve.js";

export interface StartServerOptions {
  settings: ServerSettings;
  /** Port 0 picks a free port (see the returned `port`). */
  listen: { host: string; port: number };
  tls: TlsMaterial;
  /** sqlite:/path, a plain path, or postgres://… (server/store/open-store.ts). */
  storeUrl: string;
  bodyLimit?: number;
  gzipMinBytes?: number;
  logger?: Logger;
  /** Reporting UI settings (admin password, stale interval); see server/reporting/mount.ts. */
  reporting?: Pick<ReportingWebOptions, "adminPassword" | "staleHours" | "loginThrottle">;
  /** The clock of the XML-RPC failed-authentication limits (server/http/client-auth-limit.ts), for tests. */
  clientAuthLimit?: { now?: () => number };
  /** JSON APIs behind the admin gate, by mount path (e.g. the workspace API at /api/v1); see server/reporting/mount.ts. */
  adminApis?: ReportingWebOptions["adminApis"];
  /** More routes on the same HTTPS server, before the XML-RPC catch-all (no admin gate). */
  routes?: (app: Express) => void;
  /** Keep stored runs this long (ms), each client's newest always; purged at start and hourly (`[reporting] keep_runs`). */
  keepRunsMs?: number;
}

export interface StartedServer extends RunningServer {
  core: Core;
}

/** XML-RPC password guessing limited per address and per client name, in the store like the admin's login. */
function clientAuthLimit(store: Store, logger: Logger, now?: () => number) {
  const limit = (o: (typeof CLIENT_AUTH_LIMITS)[keyof typeof CLIENT_AUTH_LIMITS]) => createStoredLoginThrottle({ store, logger, ...o, ...(now ? { now } : {}) });
  return createClientAuthLimit({ store, logger, byAddress: limit(CLIENT_AUTH_LIMITS.byAddress), byName: limit(CLIENT_AUTH_LIMITS.byName), ...(now ? { now } : {}) });
}

export async function startServer(opts: StartServerOptions): Promise<StartedServer> {
  const logger = opts.logger ?? createLogger();
  mkdirSync(opts.settings.dataDir, { recursive: true });
  const { core, store, close } = await openCore(opts.settings, opts.storeUrl, componentLogger(logger, "core"));
  try {
    const stopRetention = opts.keepRunsMs !== undefined ? startRetention(store, opts.keepRunsMs, componentLogger(logger, "reporting")) : undefined;
    const web = reportingWeb({ store, dataDir: opts.settings.dataDir, logger, ...opts.reporting, ...(opts.adminApis ? { adminApis: opts.adminApis } : {}) });
    const running = await serveApi({
      api: core,
      listen: opts.listen,
      tls: opts.tls,
      bodyLimit: opts.bodyLimit,
      gzipMinBytes: opts.gzipMinBytes,
      // Reporting UI (/reports), /metrics and the admin APIs behind one gate: server/reporting/mount.ts.
      metrics: web.metrics,
      authLimit: clientAuthLimit(store, componentLogger(logger, "auth"), opts.clientAuthLimit?.now),
      routes: (app) => {
        ctxParamsRoute(store, componentLogger(logger, "ctx"))(app);
        web.routes(app);
        opts.routes?.(app);
      },
      logger,
      // serveApi closes the core itself; the store is closed after it.
      onClose: () => {
        stopRetention?.();
        return store.close();
      },
    });
    return { ...running, core };
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
}
