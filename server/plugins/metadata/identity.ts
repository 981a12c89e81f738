// Who a caller is (upstream Metadata.AuthenticateConnection, resolve_client and
// validate_client_address), plus vacfg's bootstrap mode: password only until a cert was seen.
import { promises as dns } from "node:dns";
import { VacfgError } from "../../../protocol/errors.js";
import type { AuthRequest } from "../../core/metadata.js";
import { canonicalClientName, isValidClientName } from "../../core/client-name.js";
import type { ClientsModel } from "./clients-file.js";

const DNS_TIMEOUT_MS = 2000;

/** Reverse DNS of an address via the system resolver (getnameinfo, so /etc/hosts counts), NI_NAMEREQD-like. */
export async function reverseName(address: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), DNS_TIMEOUT_MS);
  });
  try {
    const { hostname } = await Promise.race([dns.lookupService(address, 0), timeout]);
    if (!hostname || hostname === address) throw new Error("no name for address");
    if (!isValidClientName(hostname)) throw new Error(`reverse name ${JSON.stringify(hostname)} is not a client name`);
    return canonicalClientName(hostname);
  } catch (e) {
    throw new VacfgError("METADATA", `Address resolution error for ${address}: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Set when a decision read something besides clients.xml and the settings (DNS, the store). */
export interface AuthReads {
  outside: boolean;
}

/** Said by a decision made from clients.xml alone where it needs reverse DNS or the store. */
export const OUTSIDE = Symbol("outside");

/** The client clients.xml gives an address (address or Alias address), OUTSIDE when it gives none. */
function addressClient(c: ClientsModel, address: string): string | typeof OUTSIDE {
  const names = c.addresses.get(address);
  if (!names) return OUTSIDE;
  if (names.length !== 1) {
    throw new VacfgError("METADATA", `Address ${address} has multiple reverse assignments; a uuid must be used`);
  }
  return names[0];
}

/** The client an address belongs to: clients.xml address (or Alias address), else reverse DNS. */
export async function resolveClient(c: ClientsModel, address: string, reads?: AuthReads): Promise<string> {
  const listed = addressClient(c, address);
  if (listed !== OUTSIDE) return listed;
  if (reads) reads.outside = true;
  const cname = await reverseName(address);
  return c.aliases.get(cname) ?? cname;
}

/** Whether `client` may call from `address` by clients.xml alone (floating, or its listed addresses); OUTSIDE when only reverse DNS can say. */
function addressAllowed(c: ClientsModel, client: string, address: string): boolean | typeof OUTSIDE {
  if (c.floating.has(client)) return true;
  const names = c.addresses.get(address);
  return names ? names.includes(client) : OUTSIDE;
}

export async function validateAddress(c: ClientsModel, client: string, address: string, reads?: AuthReads): Promise<boolean> {
  const listed = addressAllowed(c, client, address);
  if (listed !== OUTSIDE) return listed;
  try {
    return (await resolveClient(c, address, reads)).toLowerCase() === client.toLowerCase();
  } catch {
    return false;
  }
}

export interface AuthPolicy {
  sitePassword: string;
  defaultAuth: string;
  /** Whether this client ever authenticated with a certificate (bootstrap mode). */
  certSeen(client: string): Promise<boolean>;
  recordCert(client: string): Promise<void>;
}

type IdMethod = "cert" | "address" | "uuid";

type Claim = { client: string; idMethod: IdMethod } | undefined;

/** A claim checked against the client-name rule and resolved through uuid and alias; undefined when refused. */
function claimOf(c: ClientsModel, claim: string, idMethod: IdMethod): Claim {
  if (!isValidClientName(claim)) return undefined;
  const lc = canonicalClientName(claim);
  const client = (idMethod === "uuid" ? c.uuid.get(lc) : undefined) ?? c.aliases.get(lc) ?? lc;
  if (c.blocked.has(client)) return undefined;
  return { client, idMethod };
}

/**
 * Who the caller claims to be, canonical: the certificate CN, the client at the peer address
 * (user root), or the HTTP user; each checked against the client-name rule, then resolved through
 * uuid and alias (any case) to the client itself. undefined when the claim is refused.
 */
export async function claimedClient(c: ClientsModel, req: AuthRequest, reads?: AuthReads): Promise<Claim> {
  if (req.certCN !== undefined) return claimOf(c, req.certCN, "cert");
  if (req.user !== "root") return claimOf(c, req.user, "uuid");
  try {
    return claimOf(c, await resolveClient(c, req.address, reads), "address");
  } catch {
    return undefined;
  }
}

/** claimedClient from clients.xml alone: OUTSIDE when root's address needs reverse DNS. */
function claimedClientNow(c: ClientsModel, req: AuthRequest): Claim | typeof OUTSIDE {
  if (req.certCN !== undefined) return claimOf(c, req.certCN, "cert");
  if (req.user !== "root") return claimOf(c, req.user, "uuid");
  let listed: string | typeof OUTSIDE;
  try {
    listed = addressClient(c, req.address);
  } catch {
    return undefined;
  }
  return listed === OUTSIDE ? OUTSIDE : claimOf(c, listed, "address");
}

/** Whether the password is one `client` may use: its own when secure, else its own or the site's. */
export function passwordAccepted(c: ClientsModel, client: string, password: string, sitePassword: string): boolean {
  const own = c.passwords.get(client);
  if (c.secure.has(client)) return own !== undefined && password === own;
  return password === sitePassword || (own !== undefined && password === own);
}

/**
 * Settles the client name for a request, or undefined (→ 401). The claim is canonicalized first
 * (claimedClient), so the auth mode, address check, secure flag and password applied are those of
 * the client an alias or uuid stands for. Upstream applies them to the name as sent. `reads` learns
 * whether anything besides `c` and the policy's settings was consulted.
 */
export async function authenticate(c: ClientsModel, req: AuthRequest, policy: AuthPolicy, reads: AuthReads = { outside: false }): Promise<string | undefined> {
  const claimed = await claimedClient(c, req, reads);
  if (!claimed) return undefined;
  const { client, idMethod } = claimed;
  const authType = c.auth.get(client) ?? policy.defaultAuth;
  if (authType === "cert" && idMethod !== "cert") return undefined;
  if (idMethod !== "uuid" && !(await validateAddress(c, client, req.address, reads))) return undefined;
  if (authType === "bootstrap") reads.outside = true; // the store's record of the client's certificate
  if (idMethod === "cert" && authType !== "cert+password") {
    if (authType === "bootstrap") await policy.recordCert(client);
    return client;
  }
  // bootstrap: once a client has shown its certificate, its password alone no longer suffices.
  if (authType === "bootstrap" && idMethod !== "cert" && (await policy.certSeen(client))) return undefined;
  return passwordAccepted(c, client, req.password, policy.sitePassword) ? client : undefined;
}

/**
 * `authenticate` decided from clients.xml and the settings alone, without a wait: the same answer, or
 * OUTSIDE when the decision needs reverse DNS or the store (bootstrap mode), which `authenticate` reads.
 */
export function authenticateNow(c: ClientsModel, req: AuthRequest, sitePassword: string, defaultAuth: string): string | undefined | typeof OUTSIDE {
  const claimed = claimedClientNow(c, req);
  if (claimed === OUTSIDE || claimed === undefined) return claimed;
  const { client, idMethod } = claimed;
  const authType = c.auth.get(client) ?? defaultAuth;
  if (authType === "cert" && idMethod !== "cert") return undefined;
  if (authType === "bootstrap") return OUTSIDE;
  if (idMethod !== "uuid") {
    const allowed = addressAllowed(c, client, req.address);
    if (allowed !== true) return allowed === OUTSIDE ? OUTSIDE : undefined;
  }
  if (idMethod === "cert" && authType !== "cert+password") return client;
  return passwordAccepted(c, client, req.password, sitePassword) ? client : undefined;
}
