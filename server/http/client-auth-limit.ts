// Password guessing over XML-RPC, limited as the admin login is (the composition root gives it two
// server/reporting/stored-login-throttle.ts limits, kept in the store and so shared by every server
// process on it): failed authentications count per source address and per client name, and while
// either is locked out the credentials are not even checked. A success does not clear an address (every node of a site knows the site password, so a
// node could otherwise interleave its own logins with guesses at another client's password). So that
// guesses at one name from many addresses cannot lock that client out, a name's lockout does not
// apply from an address the name has authenticated from before.
import type { Logger } from "pino";
import { canonicalClientName, isValidClientName } from "../core/client-name.js";
import type { AuthRequest } from "../core/metadata.js";
import type { RecordTable } from "../store/store.js";

/** A failed-login limit: runs the check only while `subject` may try, and records the outcome. */
export interface LoginGuard {
  attempt(subject: string, check: () => boolean | Promise<boolean>): Promise<{ kind: "ok" } | { kind: "wrong" } | { kind: "locked"; retryAfterMs: number } | { kind: "unavailable" }>;
  /** Until when the subject is known to have no failures and no lockout (0: not known), its key computed once (stored-login-throttle.ts). */
  quietUntilFor(subject: string): () => number;
  quietUntil(subject: string): number;
}

/** key `${name key} ${address}`: { t } — where a name authenticated, by exact address. */
export const CLIENT_SEEN_KIND = "xmlrpc-auth-seen";

/**
 * Every request is checked, so a clean store read is trusted for a second (no store read per call under
 * load); a lockout set by another process is seen within that second.
 */
const CLEAN_FOR_MS = 1000;

/**
 * The settings of the two stored limits (the composition root makes them). A success clears
 * neither; the Python client tries each call 3 times, so 10 per address is about 3 runs.
 */
export const CLIENT_AUTH_LIMITS = {
  byAddress: { kind: "xmlrpc-auth-address", maxFailures: 10, successClears: false, cleanForMs: CLEAN_FOR_MS, lockMessage: "XML-RPC authentication locked out for this address" },
  byName: { kind: "xmlrpc-auth-name", maxFailures: 20, successClears: false, cleanForMs: CLEAN_FOR_MS, keyOf: (user: string) => clientNameKey(user), lockMessage: "XML-RPC authentication locked out for this client name" },
};

export interface ClientAuthLimitOptions {
  /** Failures per source address (IPv6 by /64, as the limit keys addresses). */
  byAddress: LoginGuard;
  /** Failures per client name (keyed by clientNameKey). */
  byName: LoginGuard;
  /** Where names authenticated from (CLIENT_SEEN_KIND). */
  store: RecordTable;
  logger?: Logger;
  now?: () => number;
}

/** The outcome: a client, a plain refusal (401), a lockout (401 with Retry-After), or 503 when the store cannot say. */
export type ClientAdmission = { kind: "ok"; client: string } | { kind: "refused" } | { kind: "locked"; retryAfterMs: number; by: "address" | "name" } | { kind: "unavailable" };

export interface ClientAuthLimit {
  /** Runs `authenticate` only when neither the request's address nor its user name is locked out. */
  admit(auth: AuthRequest, authenticate: () => Promise<string | undefined>): Promise<ClientAdmission>;
  /**
   * For `auth`: whether neither its address nor its user name has a failure or a lockout that this
   * process knows of, as of a store read it still trusts, so that `admit` would run the check and,
   * the check succeeding, admit. Only then may the front reuse a success it remembers for the connection.
   */
  quietFor(auth: AuthRequest): () => boolean;
  /**
   * `admit` without a wait, for a request whose outcome it can tell beforehand: when neither the
   * address nor the user name has a failure or a lockout this process knows of (quietFor) and this
   * process recorded lately where the name authenticated from, `admit` would only run the check and,
   * on success, admit. Then the client `decide` settles synchronously, if it does; undefined in every
   * other case (a refusal included), which `admit` decides and counts.
   */
  admitNow(auth: AuthRequest, decide: () => string | undefined): string | undefined;
}

/** Authentication through the limit when there is one (the front calls this for every XML-RPC request). */
export async function admitClient(limit: ClientAuthLimit | undefined, auth: AuthRequest, authenticate: (auth: AuthRequest) => Promise<string | undefined>): Promise<ClientAdmission> {
  if (limit) return limit.admit(auth, () => authenticate(auth));
  const client = await authenticate(auth);
  return client === undefined ? { kind: "refused" } : { kind: "ok", client };
}

/** admitNow through the limit when there is one. */
export function admitClientNow(limit: ClientAuthLimit | undefined, auth: AuthRequest, decide: () => string | undefined): string | undefined {
  return limit ? limit.admitNow(auth, decide) : decide();
}

/**
 * The key a client name is counted under: its canonical form (server/core/client-name.ts); a user that
 * breaks the rule (only with a certificate does it get this far) shares one key, so no hostile string
 * becomes a store key.
 */
export function clientNameKey(user: string): string {
  return isValidClientName(user) ? canonicalClientName(user) : "#invalid";
}

/** The key of where a name authenticated from (CLIENT_SEEN_KIND). */
function seenPair(auth: AuthRequest): string {
  return `${clientNameKey(auth.user)} ${auth.address}`;
}

/** How long an address a client authenticated from stays exempt from that name's lockouts. */
const SEEN_MS = 30 * 86400_000;
/** Pairs this process knows are stored (fewer store writes); bounded. */
const SEEN_CACHE = 10_000;

export function createClientAuthLimit(o: ClientAuthLimitOptions): ClientAuthLimit {
  const { store } = o;
  const now = o.now ?? Date.now;
  const log = o.logger;
  const { byAddress, byName } = o;
  const seenHere = new Map<string, number>();

  /** Whether this process recorded in the last day that the pair authenticated. */
  const seenLately = (pair: string, t: number): boolean => t - (seenHere.get(pair) ?? Number.NEGATIVE_INFINITY) < 86400_000;
  /** Records where a name authenticated (at most once a day per pair and process); a failure only costs the exemption. */
  const noteSeen = async (pair: string): Promise<void> => {
    const t = now();
    if (seenLately(pair, t)) return;
    seenHere.delete(pair);
    while (seenHere.size >= SEEN_CACHE) seenHere.delete(seenHere.keys().next().value as string);
    seenHere.set(pair, t);
    await store.put(CLIENT_SEEN_KIND, pair, { t }).catch((err: unknown) => log?.error({ err }, "could not record where a client authenticated"));
  };
  const seenBefore = async (pair: string): Promise<boolean> => {
    const r = await store.get<{ t?: unknown }>(CLIENT_SEEN_KIND, pair).catch((err: unknown) => void log?.error({ err }, "could not read where a client authenticated"));
    return typeof r?.t === "number" && now() - r.t < SEEN_MS;
  };

  return {
    quietFor(auth) {
      const address = byAddress.quietUntilFor(auth.address);
      const name = byName.quietUntilFor(auth.user);
      return () => {
        const t = now();
        return address() > t && name() > t;
      };
    },
    admitNow(auth, decide) {
      if (auth.certCN === undefined && !isValidClientName(auth.user)) return undefined;
      const t = now();
      if (!(byAddress.quietUntil(auth.address) > t && byName.quietUntil(auth.user) > t) || !seenLately(seenPair(auth), t)) return undefined;
      return decide();
    },
    async admit(auth, authenticate) {
      // A name that breaks the client-name rule never authenticates: refused without a check or a count,
      // so a tool that sends such names does not lock its address out (and adds nothing to the store).
      // With a certificate the CN names the client and the user is not used (the CN is checked by authenticate).
      if (auth.certCN === undefined && !isValidClientName(auth.user)) return { kind: "refused" };
      const pair = seenPair(auth);
      let client: string | undefined;
      let nameLock: ClientAdmission | undefined;
      const check = async (): Promise<boolean> => {
        client = await authenticate();
        return client !== undefined;
      };
      const r = await byAddress.attempt(auth.address, async () => {
        const n = await byName.attempt(auth.user, check);
        if (n.kind === "ok") return true;
        if (n.kind === "locked" && (await seenBefore(pair))) return check(); // the client's own address: its lockout is not for it
        if (n.kind !== "wrong") nameLock = n.kind === "locked" ? { kind: "locked", retryAfterMs: n.retryAfterMs, by: "name" } : n;
        return false;
      });
      if (r.kind === "ok" && client !== undefined) {
        await noteSeen(pair);
        return { kind: "ok", client };
      }
      if (r.kind === "locked") return { kind: "locked", retryAfterMs: r.retryAfterMs, by: "address" };
      if (r.kind === "unavailable") return r;
      return nameLock ?? { kind: "refused" };
    },
  };
}
