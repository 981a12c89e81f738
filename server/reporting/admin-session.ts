// Admin sessions for /reports, /metrics and /api/v1, kept in the store: a form login opens one (a
// random token in an HttpOnly cookie; the store holds only its SHA-256), every request looks it up,
// and logging out deletes it, so every server process on the store refuses the cookie at once.
// HTTP Basic `admin:PASSWORD` serves scripts. A session records a fingerprint of the admin password
// it was opened with: changing the password logs everyone out.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { IncomingMessage } from "node:http";
import { VacfgError } from "../../protocol/errors.js";
import { createFileOnce } from "../../lib/atomic-file.js";
import type { RecordTable } from "../store/store.js";

export const SESSION_COOKIE = "vacfg_admin";
export const ADMIN_USER = "admin";
/** Session lifetime: a working day. */
export const SESSION_MS = 12 * 3600_000;
/** Store kind of the sessions: key = base64url SHA-256 of the cookie's token, value StoredSession. */
export const SESSION_KIND = "admin-session";
/** Live sessions kept at most; opening one more ends the oldest. */
export const MAX_SESSIONS = 1000;

interface StoredSession {
  expires: number;
  /** Fingerprint of the admin password the session was opened with. */
  pw: string;
}

export interface AdminSessions {
  /** The user and password of an `Authorization: Basic` header, if the request has one. */
  basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined;
  checkPassword(user: string, password: string): boolean;
  /** Opens a session in the store; resolves with the Set-Cookie value that carries it. */
  open(): Promise<string>;
  /** Whether the request's cookie names a live session (rejects when the store cannot be read). */
  has(req: IncomingMessage): Promise<boolean>;
  /** Ends the request's session for every process on the store; resolves with a Set-Cookie that clears it. */
  end(req: IncomingMessage): Promise<string>;
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

function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const i = decoded.indexOf(":");
  return i >= 0 ? { user: decoded.slice(0, i), password: decoded.slice(i + 1) } : undefined;
}

/** The store key of a cookie's token, or undefined when the cookie is not one of ours. */
function sessionKey(req: IncomingMessage): string | undefined {
  const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
  if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  return createHash("sha256").update(token).digest("base64url");
}

export function createAdminSessions(o: { store: RecordTable; adminPassword: string; now?: () => number }): AdminSessions {
  const { store, adminPassword } = o;
  if (adminPassword.length < 8) throw new VacfgError("REPORT_LOGIN", "the reporting admin password must have at least 8 characters");
  const now = o.now ?? Date.now;
  const fingerprint = createHmac("sha256", "vacfg-admin-session").update(adminPassword).digest("base64url");
  const attrs = "Path=/; HttpOnly; Secure; SameSite=Strict";

  /** Deletes expired sessions, and the oldest beyond MAX_SESSIONS - 1 (room for the one being opened). */
  const prune = async (t: number): Promise<void> => {
    const all = (await store.list<Partial<StoredSession>>(SESSION_KIND)).map((r) => ({ key: r.key, expires: typeof r.value?.expires === "number" ? r.value.expires : 0 }));
    all.sort((a, b) => a.expires - b.expires);
    const excess = Math.max(0, all.length - (MAX_SESSIONS - 1));
    for (const [i, s] of all.entries()) if (i < excess || s.expires <= t) await store.delete(SESSION_KIND, s.key);
  };

  return {
    basicCredentials: (req) => basicCredentials(req.headers.authorization),
    checkPassword(user, password) {
      // Evaluate both comparisons always: no early exit on the user name.
      const u = safeEqual(user, ADMIN_USER);
      const p = safeEqual(password, adminPassword);
      return u && p;
    },
    async open() {
      const t = now();
      await prune(t);
      const token = randomBytes(32).toString("base64url");
      const session: StoredSession = { expires: t + SESSION_MS, pw: fingerprint };
      await store.put(SESSION_KIND, createHash("sha256").update(token).digest("base64url"), session);
      return `${SESSION_COOKIE}=${token}; ${attrs}; Max-Age=${SESSION_MS / 1000}`;
    },
    async has(req) {
      const key = sessionKey(req);
      if (!key) return false;
      const s = await store.get<Partial<StoredSession>>(SESSION_KIND, key);
      return typeof s?.expires === "number" && s.expires > now() && typeof s.pw === "string" && safeEqual(s.pw, fingerprint);
    },
    async end(req) {
      const key = sessionKey(req);
      if (key) await store.delete(SESSION_KIND, key);
      return `${SESSION_COOKIE}=; ${attrs}; Max-Age=0`;
    },
  };
}

/** Where the admin password comes from, for the server's start-up line (never the password itself). */
export function adminPasswordSource(dataDir: string): string {
  return process.env.VACFG_ADMIN_PASSWORD ? "$VACFG_ADMIN_PASSWORD" : join(dataDir, "admin-password");
}

/**
 * The admin password of /reports, /metrics and /api/v1: $VACFG_ADMIN_PASSWORD, else
 * DATA_DIR/admin-password (created at random, mode 0600, on first use; the admin reads it from there).
 */
export function loadAdminPassword(dataDir: string): string {
  const env = process.env.VACFG_ADMIN_PASSWORD;
  if (env) return env;
  const path = join(dataDir, "admin-password");
  if (!existsSync(path)) createFileOnce(path, randomBytes(18).toString("base64url") + "\n", 0o600);
  const pw = readFileSync(path, "utf8").trim();
  if (!pw) throw new VacfgError("REPORT_LOGIN", `${path}: the admin password file is empty`);
  return pw;
}
