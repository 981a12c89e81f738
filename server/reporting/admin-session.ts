// Admin login for the reporting UI and /metrics: a signed session cookie (HMAC-SHA256) after a form
// login, or HTTP Basic `admin:PASSWORD` for scripts. The key derives from the admin password, so
// every server process behind a load balancer accepts the same cookie, and changing the password
// logs everyone out.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { IncomingMessage } from "node:http";
import { VacfgError } from "../../protocol/errors.js";
import { createFileOnce as writeFileOnce } from "../../lib/atomic-file.js";
import type { AdminLoginGuard } from "./stored-login-throttle.js";

export const SESSION_COOKIE = "vacfg_reports";
export const ADMIN_USER = "admin";
/** Session lifetime: a working day. */
export const SESSION_MS = 12 * 3600_000;

export interface AdminAuth {
  /** A Set-Cookie value for a new session. */
  issueCookie(now?: number): string;
  clearCookie(): string;
  /** True when the request carries a valid session cookie or Basic admin credentials. */
  isAdmin(req: IncomingMessage, now?: number): boolean;
  /** True when the request carries a valid, unexpired session cookie. */
  hasSession(req: IncomingMessage, now?: number): boolean;
  /** The user and password of an `Authorization: Basic` header, if the request has one. */
  basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined;
  checkPassword(user: string, password: string): boolean;
}

/**
 * Who a request is, with failed passwords counted per source address in the store: a valid session
 * cookie is admitted (it is no password guess, and keeps a logged-in admin working through a lockout
 * at the same address); Basic credentials from a locked-out address are refused without being
 * checked; `unavailable` when the store cannot say whether the address is locked (answer 503).
 */
export type Admission = { kind: "admin" } | { kind: "anonymous" } | { kind: "wrong" } | { kind: "locked"; retryAfterMs: number } | { kind: "unavailable" };

export async function admitAdmin(auth: AdminAuth, guard: AdminLoginGuard, req: IncomingMessage, address: string, now = Date.now()): Promise<Admission> {
  if (auth.hasSession(req, now)) return { kind: "admin" };
  const basic = auth.basicCredentials(req);
  if (!basic) return { kind: "anonymous" };
  const r = await guard.attempt(address, () => auth.checkPassword(basic.user, basic.password));
  return r.kind === "ok" ? { kind: "admin" } : r;
}

function safeEqual(a: string, b: string): boolean {
  // Compare digests so that the length of the secret does not leak through timing.
  const ha = createHmac("sha256", "vacfg-compare").update(a).digest();
  const hb = createHmac("sha256", "vacfg-compare").update(b).digest();
  return timingSafeEqual(ha, hb);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function createAdminAuth(adminPassword: string, cookiePath = "/"): AdminAuth {
  if (adminPassword.length < 8) throw new VacfgError("REPORT_LOGIN", "the reporting admin password must have at least 8 characters");
  const key = createHmac("sha256", "vacfg-reports-session").update(adminPassword).digest();
  const sign = (payload: string): string => createHmac("sha256", key).update(payload).digest("base64url");
  const attrs = `Path=${cookiePath}; HttpOnly; Secure; SameSite=Strict`;

  const checkPassword = (user: string, password: string): boolean => {
    // Evaluate both comparisons always: no early exit on the user name.
    const u = safeEqual(user, ADMIN_USER);
    const p = safeEqual(password, adminPassword);
    return u && p;
  };

  const validSession = (value: string | undefined, now: number): boolean => {
    const m = value ? /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
    if (!m) return false;
    if (!safeEqual(sign(`v1.${m[1]}`), m[2])) return false;
    return Number(m[1]) > now;
  };

  const basicCredentials = (header: string | undefined): { user: string; password: string } | undefined => {
    const m = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
    if (!m) return undefined;
    const decoded = Buffer.from(m[1], "base64").toString("utf8");
    const i = decoded.indexOf(":");
    return i >= 0 ? { user: decoded.slice(0, i), password: decoded.slice(i + 1) } : undefined;
  };
  const basicAdmin = (header: string | undefined): boolean => {
    const c = basicCredentials(header);
    return c !== undefined && checkPassword(c.user, c.password);
  };

  return {
    issueCookie(now = Date.now()) {
      const payload = `v1.${now + SESSION_MS}`;
      return `${SESSION_COOKIE}=${payload}.${sign(payload)}; ${attrs}; Max-Age=${SESSION_MS / 1000}`;
    },
    clearCookie() {
      return `${SESSION_COOKIE}=; ${attrs}; Max-Age=0`;
    },
    isAdmin(req, now = Date.now()) {
      return validSession(cookieValue(req.headers.cookie, SESSION_COOKIE), now) || basicAdmin(req.headers.authorization);
    },
    hasSession(req, now = Date.now()) {
      return validSession(cookieValue(req.headers.cookie, SESSION_COOKIE), now);
    },
    basicCredentials(req) {
      return basicCredentials(req.headers.authorization);
    },
    checkPassword,
  };
}

/**
 * The admin password for the reporting UI: $VACFG_ADMIN_PASSWORD, else DATA_DIR/admin-password
 * (created at random, mode 0600, on first use; the admin reads it from there).
 */
/** Where the admin password comes from, for the server's start-up line (never the password itself). */
export function adminPasswordSource(dataDir: string): string {
  return process.env.VACFG_ADMIN_PASSWORD ? "$VACFG_ADMIN_PASSWORD" : join(dataDir, "admin-password");
}

export function loadAdminPassword(dataDir: string): string {
  const env = process.env.VACFG_ADMIN_PASSWORD;
  if (env) return env;
  const path = join(dataDir, "admin-password");
  if (!existsSync(path)) writeFileOnce(path, randomBytes(18).toString("base64url") + "\n", 0o600);
  const pw = readFileSync(path, "utf8").trim();
  if (!pw) throw new VacfgError("REPORT_LOGIN", `${path}: the admin password file is empty`);
  return pw;
}
