// Failed logins per key (the admin's per source address; XML-RPC clients' per address and per client
// name), shared by every server process on one store (`--workers N`, several servers on one
// PostgreSQL): the store's records are the truth, an in-process front refuses keys this process
// already knows are locked without a store read and keeps a burst of parallel requests to one
// process from all passing before their failures are stored.
//
// Store layout (generic records, no schema of its own; KIND is "reporting-login" for the admin):
//   kind KIND, key = keyOf(subject): { lastActive } — the index for the sweep/cap;
//   kind KIND + "/" + key, records "f:<t>:<random>" = { t } — one per failure (insert-only, so
//     failures from several processes add up exactly), and "l:<n>" = { at, until } — the n-th lockout
//     (insertIfAbsent: when two processes see the 5th failure at once, one claim wins and both use it).
// Races between processes can only lose counts, never invent them: a failure still being written by
// another process when this one reads is not seen (a couple of extra attempts at most under parallel
// bursts across processes), and a success that clears the address while another process records a
// failure leaves that one failure standing.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { RecordTable } from "../store/store.js";
import { throttleKey, type LoginThrottleOptions } from "./login-throttle.js";

export const LOGIN_INDEX_KIND = "reporting-login";

export interface StoredLoginThrottleOptions extends LoginThrottleOptions {
  store: RecordTable;
  /** The records' kind (default LOGIN_INDEX_KIND); one per limit kept in the same store. */
  kind?: string;
  /** The key a subject is counted under (default throttleKey: IPv4 as is, IPv6 by /64). */
  keyOf?: (subject: string) => string;
  /**
   * Whether a success clears the subject's failures (default true: one admin per address). False where
   * one address holds several parties, some knowing a password the others guess (XML-RPC clients).
   */
  successClears?: boolean;
  /** The warning logged on a lockout (default: the admin login's). */
  lockMessage?: string;
  /** A sweep of the index runs at most this often per process (default 1 min)... */
  sweepEveryMs?: number;
  /** ...or after this many new addresses (default maxAddresses / 100), and deletes at most this many (default 1000). */
  sweepBatch?: number;
  /**
   * When the store held nothing for a key, trust that for this long without reading it again, unless this
   * process has failures of its own for the key (default 0: read every time). For limits on every request
   * (XML-RPC): a lockout another process sets is then seen here within this time.
   */
  cleanForMs?: number;
}

/**
 * The outcome of one password attempt: `unavailable` when the store could not be read, so that the
 * limit cannot be known (the password is then not checked: fail closed, the caller answers 503).
 */
export type LoginAttempt = { kind: "ok" } | { kind: "wrong" } | { kind: "locked"; retryAfterMs: number } | { kind: "unavailable" };

export interface AdminLoginGuard {
  /**
   * Runs `checkPassword` only when the subject (an address, or what keyOf takes) may try, and records
   * the outcome in the store. A store error while recording a wrong password still answers `wrong`
   * (401): the front has counted it. A check that throws counts as a wrong password.
   */
  attempt(subject: string, checkPassword: () => boolean | Promise<boolean>): Promise<LoginAttempt>;
  /**
   * Until when (this limit's clock) the subject is known to have no failures and no lockout: the last
   * store read found none and is still trusted (`cleanForMs`), and this process has made or started
   * none since. 0 when that is not known. A success remembered for a connection is reused only until then.
   */
  quietUntilFor(subject: string): () => number;
  /** quietUntilFor(subject)(), once. */
  quietUntil(subject: string): number;
}

interface Lock {
  level: number;
  at: number;
  until: number;
}

/** What the store holds for one address, read in one list. */
interface AddressRecords {
  keys: string[];
  /** Failures that count: in the window and after the latest lockout began. */
  counted: Array<{ id: string; t: number }>;
  /** Records that no longer count (older lockouts, spent failures): deleted on the next failure. */
  spent: string[];
  lock?: Lock;
  lastActive: number;
}

/** The front's knowledge of one address in this process. */
interface FrontEntry {
  lockedUntil: number;
  lockAt: number;
  /** Failures this process made; `doneEpoch` once the store has them. */
  own: Array<{ id: string; t: number; doneEpoch?: number }>;
  /** Password checks in flight here: each may turn out a failure, so they count until settled. */
  checking: Set<Promise<boolean>>;
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

export function createStoredLoginThrottle(opts: StoredLoginThrottleOptions): AdminLoginGuard {
  const store = opts.store;
  const indexKind = opts.kind ?? LOGIN_INDEX_KIND;
  const recordKind = (key: string): string => `${indexKind}/${key}`;
  const keyOf = opts.keyOf ?? throttleKey;
  const successClears = opts.successClears ?? true;
  const lockMessage = opts.lockMessage ?? "reporting admin login locked out for this address";
  const maxFailures = opts.maxFailures ?? 5;
  const windowMs = opts.windowMs ?? 15 * 60_000;
  const lockoutMs = opts.lockoutMs ?? 15 * 60_000;
  const maxLockoutMs = opts.maxLockoutMs ?? 3600_000;
  const maxAddresses = opts.maxAddresses ?? 10_000;
  const quietMs = Math.max(windowMs, maxLockoutMs);
  const sweepEveryMs = opts.sweepEveryMs ?? 60_000;
  const sweepAfterNew = Math.max(1, Math.floor(maxAddresses / 100));
  const sweepBatch = opts.sweepBatch ?? 1000;
  const now = opts.now ?? Date.now;
  const log: Logger | undefined = opts.logger;
  const cleanForMs = opts.cleanForMs ?? 0;
  /** Keys whose store read found nothing, and when (insertion order = oldest first; bounded like the front). */
  const clean = new Map<string, number>();
  const noteClean = (key: string, t: number): void => {
    clean.delete(key);
    while (clean.size >= maxAddresses) clean.delete(clean.keys().next().value as string);
    clean.set(key, t);
  };

  // The front: a Map iterates in insertion order; re-inserting on activity keeps the least recent first.
  const front = new Map<string, FrontEntry>();
  // Counts store writes this process finished: a read that began before a write finished may miss it.
  let epoch = 0;
  let lastSweep = Number.NEGATIVE_INFINITY;
  let newSinceSweep = 0;
  let sweeping = false;

  const frontEntry = (key: string): FrontEntry => {
    let e = front.get(key);
    if (e) front.delete(key);
    else {
      e = { lockedUntil: 0, lockAt: Number.NEGATIVE_INFINITY, own: [], checking: new Set() };
      while (front.size >= maxAddresses) front.delete(front.keys().next().value as string);
    }
    front.set(key, e);
    return e;
  };
  const noteLock = (key: string, lock: Lock): void => {
    const e = frontEntry(key);
    e.lockedUntil = Math.max(e.lockedUntil, lock.until);
    e.lockAt = Math.max(e.lockAt, lock.at);
    e.own = e.own.filter((f) => f.t > lock.at);
  };
  const lockMsFor = (level: number): number => Math.min(lockoutMs * 2 ** level, maxLockoutMs);

  const read = async (key: string, t: number): Promise<AddressRecords> => {
    const rows = await store.list<Record<string, unknown>>(recordKind(key));
    let lock: Lock | undefined;
    const failures: Array<{ id: string; t: number }> = [];
    const spent: string[] = [];
    for (const { key: k, value } of rows) {
      const lm = /^l:(\d{1,6})$/.exec(k);
      const at = num(value?.at);
      const until = num(value?.until);
      const ft = num(value?.t);
      if (lm && at !== undefined && until !== undefined) {
        const l = { level: Number(lm[1]), at, until };
        if (lock && lock.level > l.level) spent.push(k);
        else {
          if (lock) spent.push(`l:${lock.level}`);
          lock = l;
        }
      } else if (k.startsWith("f:") && ft !== undefined) failures.push({ id: k, t: ft });
      else spent.push(k); // not ours or malformed: cleaned like a spent record
    }
    const counted = failures.filter((f) => f.t > t - windowMs && (!lock || f.t > lock.at));
    for (const f of failures) if (!counted.includes(f)) spent.push(f.id);
    const lastActive = Math.max(0, lock?.until ?? 0, ...failures.map((f) => f.t));
    const keys = rows.map((r) => r.key);
    // Quiet for a full maximum lockout after the last failure or lockout: forget it, back-off included.
    if (keys.length > 0 && (lock?.until ?? 0) <= t && t - lastActive >= quietMs) {
      await forget(key, keys);
      return { keys: [], counted: [], spent: [], lastActive: 0 };
    }
    return { keys, counted, spent, ...(lock ? { lock } : {}), lastActive };
  };

  /** Deletes an address's records (and its index entry); errors are logged, not thrown. */
  const forget = async (key: string, keys: string[]): Promise<void> => {
    try {
      await store.delete(indexKind, key);
      for (const k of keys) await store.delete(recordKind(key), k);
    } catch (err) {
      log?.error({ err, key }, "could not clean the stored failed logins of an address");
    }
  };

  /** Claims lockout number `level` (or joins the process that claimed it first). */
  const lock = async (address: string, key: string, level: number, t: number): Promise<Lock> => {
    const ms = lockMsFor(level);
    let l: Lock = { level, at: t, until: t + ms };
    const won = await store.insertIfAbsent(recordKind(key), `l:${level}`, { at: l.at, until: l.until });
    if (!won) {
      const other = await store.get<Record<string, unknown>>(recordKind(key), `l:${level}`);
      const at = num(other?.at);
      const until = num(other?.until);
      if (at !== undefined && until !== undefined) l = { level, at, until };
    }
    epoch++;
    noteLock(key, l);
    if (won) {
      if (level > 0) await store.delete(recordKind(key), `l:${level - 1}`);
      await store.put(indexKind, key, { lastActive: l.until });
      log?.warn({ address, key, failures: maxFailures, lockoutSeconds: Math.ceil(ms / 1000), lockouts: level + 1 }, lockMessage);
    }
    return l;
  };

  /**
   * Bounded clean-up of the index: addresses quiet for longer than the maximum lockout, and the least
   * recently active beyond maxAddresses, at most sweepBatch per sweep.
   */
  const sweep = async (t: number): Promise<void> => {
    if (sweeping || (t - lastSweep < sweepEveryMs && newSinceSweep < sweepAfterNew)) return;
    sweeping = true;
    lastSweep = t;
    newSinceSweep = 0;
    try {
      const index = (await store.list<Record<string, unknown>>(indexKind)).map((r) => ({ key: r.key, lastActive: num(r.value?.lastActive) ?? 0 }));
      index.sort((a, b) => a.lastActive - b.lastActive);
      const excess = Math.max(0, index.length - maxAddresses);
      const victims = index.filter((e, i) => i < excess || t - e.lastActive >= quietMs).slice(0, sweepBatch);
      for (const v of victims) {
        // The index entry goes first: a failure recorded meanwhile puts it back, so none is orphaned.
        await store.delete(indexKind, v.key);
        const rows = await store.list<Record<string, unknown>>(recordKind(v.key));
        const evict = index.indexOf(v) < excess;
        let fresh = 0;
        for (const r of rows) {
          const last = Math.max(num(r.value?.t) ?? 0, num(r.value?.until) ?? 0);
          if (evict || t - last >= quietMs) await store.delete(recordKind(v.key), r.key);
          else fresh = Math.max(fresh, last);
        }
        if (fresh > 0) await store.put(indexKind, v.key, { lastActive: fresh });
      }
    } catch (err) {
      log?.error({ err }, "sweep of stored failed logins failed");
    } finally {
      sweeping = false;
    }
  };

  const attempt = async (subject: string, checkPassword: () => boolean | Promise<boolean>): Promise<LoginAttempt> => {
    const address = subject; // named so in the logs, whatever the subject is
    const t = now();
    const key = keyOf(subject);
    const known = front.get(key);
    if (known && known.lockedUntil > t) return { kind: "locked", retryAfterMs: known.lockedUntil - t };

    const readEpoch = epoch;
    let stored: AddressRecords;
    try {
      const cleanAt = clean.get(key);
      if (cleanAt !== undefined && t - cleanAt < cleanForMs && !front.get(key)?.own.length) stored = { keys: [], counted: [], spent: [], lastActive: 0 };
      else {
        stored = await read(key, t);
        if (cleanForMs > 0 && stored.keys.length === 0) noteClean(key, t);
        else clean.delete(key);
      }
      if (stored.lock && stored.lock.until > t) {
        noteLock(key, stored.lock);
        return { kind: "locked", retryAfterMs: stored.lock.until - t };
      }
      const nextLevel = stored.lock ? stored.lock.level + 1 : 0;
      // Enough stored failures and no lockout: its claimant died or is claiming right now; claim it too.
      if (stored.counted.length >= maxFailures) {
        const l = await lock(address, key, nextLevel, t);
        return { kind: "locked", retryAfterMs: Math.max(1, l.until - t) };
      }
    } catch (err) {
      log?.error({ err, address }, "login refused: the store could not be read for the login limit");
      return { kind: "unavailable" };
    }

    // From here to the start of the password check nothing awaits, so parallel requests to this process
    // are counted one after the other: the stored failures, this process's own that the read may have
    // missed, and the checks still in flight (any of them may fail).
    const e = frontEntry(key);
    if (e.lockedUntil > t) return { kind: "locked", retryAfterMs: e.lockedUntil - t };
    e.own = e.own.filter((f) => f.t > t - windowMs && f.t > e.lockAt && (f.doneEpoch === undefined || f.doneEpoch > readEpoch));
    const ids = new Set(stored.counted.map((f) => f.id));
    for (const f of e.own) ids.add(f.id);
    const nextLevel = stored.lock ? stored.lock.level + 1 : 0;
    if (ids.size + e.checking.size >= maxFailures) {
      // Checks in flight decide it: wait for one to settle and count again (legitimate parallel logins
      // wait a moment, a parallel burst of guesses still gets maxFailures checks at most).
      if (e.checking.size > 0) {
        await Promise.race(e.checking);
        return attempt(subject, checkPassword);
      }
      return { kind: "locked", retryAfterMs: lockMsFor(nextLevel) }; // a parallel request is locking it
    }

    const ahead = [...e.checking];
    const checking = Promise.resolve()
      .then(checkPassword)
      .catch(() => false);
    e.checking.add(checking);
    const ok = await checking;
    e.checking.delete(checking);
    if (ok) {
      if (successClears) {
        front.delete(key);
        if (stored.keys.length > 0) await forget(key, stored.keys);
      }
      return { kind: "ok" };
    }

    clean.delete(key);
    const id = `f:${t}:${randomBytes(6).toString("hex")}`;
    const mine: FrontEntry["own"][number] = { id, t };
    e.own.push(mine);
    try {
      await store.insertIfAbsent(recordKind(key), id, { t });
      mine.doneEpoch = ++epoch;
      await store.put(indexKind, key, { lastActive: t });
      if (stored.keys.length === 0) newSinceSweep++;
      for (const k of stored.spent) await store.delete(recordKind(key), k);
      let result: LoginAttempt = { kind: "wrong" };
      // This failure's place: the failures counted before the check, plus the checks ahead of it that failed.
      const place = ids.size + (await Promise.all(ahead)).filter((okAhead) => !okAhead).length + 1;
      if (place >= maxFailures) {
        const l = await lock(address, key, nextLevel, t);
        result = { kind: "locked", retryAfterMs: Math.max(1, l.until - t) };
      }
      await sweep(t);
      return result;
    } catch (err) {
      // The front has counted it; the request is a plain wrong password (401).
      log?.error({ err, address }, "could not record a failed login in the store");
      return { kind: "wrong" };
    }
  };
  const quietUntilKey = (key: string): number => {
    const cleanAt = clean.get(key);
    if (cleanAt === undefined) return 0;
    const e = front.get(key);
    if (e && (e.own.length > 0 || e.checking.size > 0 || e.lockedUntil > now())) return 0;
    return cleanAt + cleanForMs;
  };
  const quietUntilFor = (subject: string): (() => number) => {
    const key = keyOf(subject);
    return () => quietUntilKey(key);
  };
  return { attempt, quietUntilFor, quietUntil: (subject) => quietUntilKey(keyOf(subject)) };
}
