// The Workspace Service over HTTP: an express Router (mounted by the server at /api/v1) with
// JSON in and out, admin-only (HTTP Basic, user "admin" or any, with the admin password).
// Errors answer with the catalogue code and its HTTP status: {"error": {"code", "message"}}.
import { timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { ERRORS, isVacfgError, VacfgError } from "../../protocol/errors.js";
import { parseBasicAuth } from "../../server/http/basic-auth.js";
import type { WorkspaceService } from "./service.js";

export interface WorkspaceRouterOptions {
  adminPassword: string;
  /** Largest JSON body (default 1 MiB). */
  bodyLimit?: string;
}

function passwordMatches(given: string, want: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

function sendError(res: Response, e: unknown): void {
  if (isVacfgError(e)) {
    const spec = ERRORS[e.code] as { http?: number };
    res.status(spec.http ?? 500).json({ error: { code: e.code, message: e.message } });
    return;
  }
  const err = e as { type?: string; status?: number; message?: string };
  // express.json() refusals (bad JSON, too large) carry their own status.
  if (err?.status && err.status >= 400 && err.status < 500) {
    res.status(err.status).json({ error: { code: "WORKSPACE_REQUEST", message: err.message ?? "bad request" } });
    return;
  }
  res.status(500).json({ error: { code: "INTERNAL", message: (e as Error)?.message ?? String(e) } });
}

/** Wraps an async handler: its result is the JSON body, a thrown error the catalogue answer. */
const handle = (f: (req: Request) => Promise<unknown>, status = 200) => (req: Request, res: Response) => {
  f(req).then((body) => res.status(status).json(body), (e: unknown) => sendError(res, e));
};

const OPS = ["shutdown", "pause", "unpause", "destroy"] as const;

export function workspaceRouter(service: WorkspaceService, o: WorkspaceRouterOptions): Router {
  if (!o.adminPassword) throw new VacfgError("SERVER_CONFIG", "workspace API: an admin password is required");
  const r = express.Router();
  r.use((req, res, next) => {
    const creds = parseBasicAuth(req.headers.authorization);
    if (!creds || !passwordMatches(creds.password, o.adminPassword)) {
      res.setHeader("WWW-Authenticate", 'Basic realm="vacfg workspace"');
      res.status(401).json({ error: { code: "AUTH_FAILED", message: "admin credentials required" } });
      return;
    }
    next();
  });
  r.use(express.json({ limit: o.bodyLimit ?? "1mb" }));
  r.post("/deployments", handle((req) => service.deploy(req.body).then((d) => ({ deployment: d.deployment, vms: d.vms })), 201));
  r.get("/deployments", handle(() => service.deployments().then((deployments) => ({ deployments }))));
  r.get("/vms", handle(() => service.list().then((vms) => ({ vms }))));
  r.get("/vms/:name", handle((req) => service.status(String(req.params.name)).then((vms) => ({ vms }))));
  for (const op of OPS) {
    r.post(`/vms/:name/${op}`, handle(async (req) => {
      const name = String(req.params.name);
      if (op === "destroy") return { destroyed: await service.destroy(name) };
      return { vms: await service[op](name) };
    }));
  }
  r.post("/vms/:name/ttl", handle(async (req) => {
    const ttl = (req.body as { ttlSeconds?: unknown } | undefined)?.ttlSeconds;
    if (typeof ttl !== "number") throw new VacfgError("WORKSPACE_REQUEST", "ttlSeconds: must be a number");
    return { vms: await service.setTtl(String(req.params.name), ttl) };
  }));
  r.post("/reap", handle(async () => ({ reaped: await service.reap() })));
  // Body parser errors and anything else that escaped a handler.
  r.use((e: unknown, _req: Request, res: Response, _next: NextFunction) => sendError(res, e));
  return r;
}
