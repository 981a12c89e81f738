// Failed admin logins per source address (the reporting form, Basic admin:PASSWORD on the pages and
// on /metrics): after too many failures in a window the address is locked out for a while, longer
// for each further burst, so that guessing the admin password from one place is slow. In memory,
// per server process, bounded in size; the clock is injectable so that tests need not wait. The server
// itself uses stored-login-throttle.ts (the same limit shared through the store), with throttleKey() here.
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

export interface LoginThrottle {
  /** Milliseconds the address must still wait (0: it may try a password). */
  retryAfterMs(address: string): number;
  /** Records a wrong password; returns the lockout (ms) this failure started, or 0. */
  fail(address: string): number;
  /** A right password: the address starts afresh (its back-off too). */
  succeed(address: string): void;
  /** Addresses tracked now (for tests of the bound). */
  readonly size: number;
}

interface AddressState {
  /** Times of the failures in the current window (at most maxFailures). */
  failures: number[];
  lockedUntil: number;
  /** Lockouts so far; the next one lasts lockoutMs * 2^level. */
  level: number;
  lastActive: number;
}

/**
 * The key an address is counted under: IPv4 as is, IPv6 by its /64 (one site or host usually has a
 * whole /64, so counting single IPv6 addresses would not limit anything).
 */
export function throttleKey(address: string): string {
  const a = address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address.replace(/%.*$/, "");
  if (!a.includes(":")) return a;
  const [head, tail] = a.includes("::") ? a.split("::", 2) : [a, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  return groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(":") + "::/64";
}

export function createLoginThrottle(opts: LoginThrottleOptions = {}): LoginThrottle {
  const maxFailures = opts.maxFailures ?? 5;
  const windowMs = opts.windowMs ?? 15 * 60_000;
  const lockoutMs = opts.lockoutMs ?? 15 * 60_000;
  const maxLockoutMs = opts.maxLockoutMs ?? 3600_000;
  const maxAddresses = opts.maxAddresses ?? 10_000;
  const now = opts.now ?? Date.now;
  // A Map iterates in insertion order; re-inserting on activity keeps the least recent first.
  const states = new Map<string, AddressState>();

  const current = (key: string, t: number): AddressState | undefined => {
    const s = states.get(key);
    if (!s) return undefined;
    // Quiet for a full maximum lockout after the last failure or lockout: forget the address, back-off included.
    if (s.lockedUntil <= t && t - Math.max(s.lastActive, s.lockedUntil) >= Math.max(windowMs, maxLockoutMs)) {
      states.delete(key);
      return undefined;
    }
    return s;
  };

  return {
    retryAfterMs(address) {
      const t = now();
      const s = current(throttleKey(address), t);
      return s && s.lockedUntil > t ? s.lockedUntil - t : 0;
    },
    fail(address) {
      const t = now();
      const key = throttleKey(address);
      let s = current(key, t);
      if (s) states.delete(key);
      else {
        s = { failures: [], lockedUntil: 0, level: 0, lastActive: t };
        while (states.size >= maxAddresses) states.delete(states.keys().next().value as string);
      }
      states.set(key, s);
      s.lastActive = t;
      if (s.lockedUntil > t) return 0; // callers refuse locked addresses before checking; nothing more to count
      s.failures = s.failures.filter((f) => f > t - windowMs);
      s.failures.push(t);
      if (s.failures.length < maxFailures) return 0;
      const ms = Math.min(lockoutMs * 2 ** s.level, maxLockoutMs);
      s.level++;
      s.lockedUntil = t + ms;
      s.failures = [];
      opts.logger?.warn({ address, key, failures: maxFailures, lockoutSeconds: Math.ceil(ms / 1000), lockouts: s.level }, "reporting admin login locked out for this address");
      return ms;
    },
    succeed(address) {
      states.delete(throttleKey(address));
    },
    get size() {
      return states.size;
    },
  };
}

/** Seconds for a Retry-After header (whole seconds, at least 1). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
