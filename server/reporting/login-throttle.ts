// The settings and the per-address key of the admin-login limit (stored-login-throttle.ts): after
// too many failed logins in a window an address is locked out for a while, longer for each further
// burst, so that guessing the admin password from one place is slow.
import type { Logger } from "pino";

export interface LoginThrottleOptions {
  /** Failures within `windowMs` that start a lockout (default 5). */
  maxFailures?: number;
  /** Window in which failures count (default 15 min). */
  windowMs?: number;
  /** First lockout (default 15 min); each further burst doubles it... */
  lockoutMs?: number;
  /** ...up to this (default 1 h). */
  maxLockoutMs?: number;
  /** Addresses tracked at most; the least recently active one is forgotten first (default 10,000). */
  maxAddresses?: number;
  now?: () => number;
  logger?: Logger;
}

/**
 * The key an address is counted under: IPv4 as is, IPv6 by its /64 (one site or host usually has a
 * whole /64, so counting single IPv6 addresses would not limit anything).
 */
export function throttleKey(address: string): string {
  if (!address.includes(":") && !address.includes("%")) return address; // IPv4, the usual case: no regex
  const a = address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address.replace(/%.*$/, "");
  if (!a.includes(":")) return a;
  const [head, tail] = a.includes("::") ? a.split("::", 2) : [a, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  return groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(":") + "::/64";
}

/** Seconds for a Retry-After header (whole seconds, at least 1). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
