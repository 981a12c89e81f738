// The Workspace Service over HTTP: an express Router with JSON in and out, mounted by the server at
// /api/v1 behind the admin gate (server/reporting/admin-gate.ts: admin session or Basic, the stored
// login limit, JSON and same-origin for state-changing calls), which it does not repeat.
// Errors answer with the catalogue code and its HTTP status: {"error": {"code", "message"}}.
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { ERRORS, isVacfgError, VacfgError } from "../../protocol/errors.js";
import type { WorkspaceService } from "./service.js";

export interface WorkspaceRouterOptions {
  /** Largest JSON body (default 1 MiB). */
  bodyLimit?: string;
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

export function workspaceRouter(service: WorkspaceService, o: WorkspaceRouterOptions = {}): Router {
  const r = express.Router();
  r.use(express.json({ limit: o.bodyLimit ?? "1mb" }));
  r.post("/deployments", handle((req) => service.deploy(req.body).then((d) => ({ deployment: d.deployment, vms: d.vms })), 201));
  // An update of a running deployment: the body is a deployment request for the same name.
  r.post("/deployments/:name/update", handle((req) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (body && typeof body === "object" && body.name !== undefined && body.name !== req.params.name) {
      throw new VacfgError("WORKSPACE_REQUEST", `name: the request names "${String(body.name)}", the URL "${String(req.params.name)}"`);
    }
    return service.update({ ...body, name: String(req.params.name) }).then((d) => ({ deployment: d.deployment, vms: d.vms }));
  }));
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
