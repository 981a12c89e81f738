// The one gate in front of every admin surface (/reports, /metrics, /api/v1): a session kept in the
// store (admin-session.ts) or Basic `admin:PASSWORD` counted by the stored login limit per source
// address, so a lockout earned on one surface holds on all three and in every process on the store;
// and for state-changing requests a same-origin check (Origin/Referer against Host), plus
// Content-Type: application/json on JSON APIs, so that another site's page cannot post to them.
import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import type { ErrorCode } from "../../protocol/errors.js";
import type { RecordTable } from "../store/store.js";
import { isLocalhost, peerAddress } from "../http/peer.js";
import { createAdminSessions, type AdminSessions } from "./admin-session.js";
import { retryAfterSeconds, type LoginThrottleOptions } from "./login-throttle.js";
import { createStoredLoginThrottle, type AdminLoginGuard, type LoginAttempt } from "./stored-login-throttle.js";

/** Retry-After (seconds) when the login limit or the sessions cannot be read from the store. */
export const LOGIN_UNAVAILABLE_RETRY_S = 10;

/** Why the gate turned a request away, with the status and headers it is answered with. */
export interface Refusal {
  status: number;
  code: ErrorCode;
  message: string;
  /** Set on 429 and 503. */
  retryAfterS?: number;
}

export interface AdminSurface {
  /** The Basic realm named in a 401. */
  realm: string;
  /** Loopback is admitted without credentials (Prometheus scraping /metrics on the server itself). */
  loopbackFree?: boolean;
  /** A JSON API: state-changing calls need Content-Type: application/json, refusals are JSON. */
  jsonApi?: boolean;
  /** Answers a refusal itself (the reports UI renders its pages); default: JSON or plain text. */
  refuse?: (req: Request, res: Response, refusal: Refusal) => void;
}

/** What a form login gets: a session cookie, or why not. */
export type LoginResult = { kind: "ok"; cookie: string } | Exclude<LoginAttempt, { kind: "ok" }>;

export interface AdminGate {
  /** The middleware in front of one admin surface. */
  protect(surface: AdminSurface): RequestHandler;
  /** Only the same-origin check (the login and logout forms, which need no session). */
  sameOrigin(surface: AdminSurface): RequestHandler;
  /** A form login through the stored limit; a success opens a session. */
  login(req: IncomingMessage, user: string, password: string): Promise<LoginResult>;
  /** Ends the request's session everywhere; resolves with the Set-Cookie that clears it. */
  logout(req: IncomingMessage): Promise<string>;
}

export interface AdminGateOptions {
  store: RecordTable;
  adminPassword: string;
  /** Failed-login limits (defaults in login-throttle.ts); `now` lets tests move the clock. */
  loginThrottle?: Omit<LoginThrottleOptions, "logger">;
  logger?: Logger;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Why a state-changing request is not same-origin, or undefined when it is. Browsers send Origin on
 * every cross-origin POST (`null` when the page's referrer policy hides it), so a request with
 * neither Origin nor Referer comes from a script with its own credentials, not from another site.
 */
export function crossOriginReason(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  const source = origin ?? req.headers.referer;
  if (source === undefined) return undefined;
  const header = origin !== undefined ? "Origin" : "Referer";
  let host: string | undefined;
  try {
    host = req.headers.host ? new URL(`https://${req.headers.host}`).host : undefined;
  } catch {
    host = undefined;
  }
  let from: URL;
  try {
    from = new URL(source);
  } catch {
    return `${header} "${source.slice(0, 100)}" is not a same-origin URL`;
  }
  if (from.protocol !== "https:" || host === undefined || from.host !== host) return `${header} ${from.origin} is not this server (https://${host ?? "?"})`;
  return undefined;
}

function isJson(req: IncomingMessage): boolean {
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json";
}

function answer(surface: AdminSurface, req: Request, res: Response, r: Refusal): void {
  if (r.retryAfterS !== undefined) res.set("Retry-After", String(r.retryAfterS));
  if (r.status === 401) res.set("WWW-Authenticate", `Basic realm="${surface.realm}"`);
  if (surface.refuse) return surface.refuse(req, res, r);
  res.set("Cache-Control", "no-store");
  if (surface.jsonApi) res.status(r.status).json({ error: { code: r.code, message: r.message } });
  else res.status(r.status).type("text/plain").send(`${r.message}\n`);
}

export function createAdminGate(o: AdminGateOptions): AdminGate {
  const log = o.logger;
  const sessions: AdminSessions = createAdminSessions({ store: o.store, adminPassword: o.adminPassword, ...(o.loginThrottle?.now ? { now: o.loginThrottle.now } : {}) });
  // One count of failed logins for every surface, kept in the store so that every process on it shares it.
  const throttle: AdminLoginGuard = createStoredLoginThrottle({ store: o.store, ...o.loginThrottle, ...(log ? { logger: log } : {}) });

  const refusalOf = (a: Exclude<LoginAttempt, { kind: "ok" }> | { kind: "anonymous" }, address: string): Refusal => {
    switch (a.kind) {
      case "locked": {
        const s = retryAfterSeconds(a.retryAfterMs);
        return { status: 429, code: "ADMIN_LOCKED_OUT", message: `too many failed logins from ${address}; logins from it are refused for ${s} s, even with the right password`, retryAfterS: s };
      }
      case "unavailable":
        return { status: 503, code: "ADMIN_LOGIN_UNAVAILABLE", message: "logins cannot be checked right now (the server's store is not answering); retry shortly", retryAfterS: LOGIN_UNAVAILABLE_RETRY_S };
      case "wrong":
        return { status: 401, code: "AUTH_FAILED", message: "wrong admin user or password" };
      case "anonymous":
        return { status: 401, code: "AUTH_FAILED", message: "admin credentials required" };
    }
  };

  const originRefusal = (surface: AdminSurface, req: IncomingMessage): Refusal | undefined => {
    if (SAFE_METHODS.has(req.method ?? "GET")) return undefined;
    const reason = crossOriginReason(req);
    if (reason !== undefined) {
      log?.warn({ address: peerAddress(req.socket), method: req.method, path: req.url, reason }, "cross-origin admin request refused");
      return { status: 403, code: "CROSS_ORIGIN", message: `cross-origin request refused: ${reason}` };
    }
    if (surface.jsonApi && !isJson(req)) return { status: 415, code: "JSON_REQUIRED", message: "state-changing API calls need Content-Type: application/json" };
    return undefined;
  };

  /** A live session is admitted (it is no guess, so it works through a lockout); Basic goes through the limit. */
  const admit = async (req: IncomingMessage, address: string): Promise<Refusal | undefined> => {
    try {
      if (await sessions.has(req)) return undefined;
    } catch (err) {
      log?.error({ err, address }, "admin session could not be read from the store");
      return refusalOf({ kind: "unavailable" }, address);
    }
    const basic = sessions.basicCredentials(req);
    if (!basic) return refusalOf({ kind: "anonymous" }, address);
    const r = await throttle.attempt(address, () => sessions.checkPassword(basic.user, basic.password));
    if (r.kind === "ok") return undefined;
    if (r.kind === "wrong") log?.warn({ address }, "admin credentials refused");
    return refusalOf(r, address);
  };

  return {
    protect(surface) {
      return (req: Request, res: Response, next: NextFunction) => {
        const address = peerAddress(req.socket);
        const early = originRefusal(surface, req);
        if (early) return answer(surface, req, res, early);
        if (surface.loopbackFree && isLocalhost(address)) return next();
        void admit(req, address).then(
          (refusal) => (refusal ? answer(surface, req, res, refusal) : next()),
          (err: unknown) => next(err),
        );
      };
    },
    sameOrigin(surface) {
      return (req: Request, res: Response, next: NextFunction) => {
        const refusal = originRefusal(surface, req);
        if (refusal) answer(surface, req, res, refusal);
        else next();
      };
    },
    async login(req, user, password) {
      const address = peerAddress(req.socket);
      const r = await throttle.attempt(address, () => sessions.checkPassword(user, password));
      if (r.kind !== "ok") {
        if (r.kind === "wrong") log?.warn({ address }, "admin login refused");
        return r;
      }
      try {
        const cookie = await sessions.open();
        log?.info({ address }, "admin logged in");
        return { kind: "ok", cookie };
      } catch (err) {
        log?.error({ err, address }, "admin session could not be stored");
        return { kind: "unavailable" };
      }
    },
    logout: (req) => sessions.end(req),
  };
}
