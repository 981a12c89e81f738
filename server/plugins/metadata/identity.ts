// Who a caller is (upstream Metadata.AuthenticateConnection, resolve_client and
// validate_client_address), plus vacfg's bootstrap mode: password only until a cert was seen.
import { promises as dns } from "node:dns";
import { VacfgError } from "../../../protocol/errors.js";
import type { AuthRequest } from "../../core/metadata.js";
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
    return hostname.toLowerCase();
  } catch (e) {
    throw new VacfgError("METADATA", `Address resolution error for ${address}: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The client an address belongs to: clients.xml address (or Alias address), else reverse DNS. */
export async function resolveClient(c: ClientsModel, address: string): Promise<string> {
  const names = c.addresses.get(address);
  if (names) {
    if (names.length !== 1) {
      throw new VacfgError("METADATA", `Address ${address} has multiple reverse assignments; a uuid must be used`);
    }
    return names[0];
  }
  const cname = await reverseName(address);
  return c.aliases.get(cname) ?? cname;
}

export async function validateAddress(c: ClientsModel, client: string, address: string): Promise<boolean> {
  if (c.floating.has(client)) return true;
  const names = c.addresses.get(address);
  if (names) return names.includes(client);
  try {
    return (await resolveClient(c, address)).toLowerCase() === client.toLowerCase();
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

/** Settles the client name for a request, or undefined (→ 401). Names are lower-cased as upstream's metadata does. */
export async function authenticate(c: ClientsModel, req: AuthRequest, policy: AuthPolicy): Promise<string | undefined> {
  let client: string;
  let idMethod: "cert" | "address" | "uuid";
  if (req.certCN) {
    idMethod = "cert";
    client = req.certCN;
  } else if (req.user === "root") {
    idMethod = "address";
    try {
      client = await resolveClient(c, req.address);
    } catch {
      return undefined;
    }
  } else {
    idMethod = "uuid";
    client = c.uuid.get(req.user) ?? req.user;
  }
  const lc = client.toLowerCase();
  const authType = c.auth.get(client) ?? c.auth.get(lc) ?? policy.defaultAuth;
  if (authType === "cert" && idMethod !== "cert") return undefined;
  if (idMethod !== "uuid" && !(await validateAddress(c, lc, req.address))) return undefined;
  if (idMethod === "cert" && authType !== "cert+password") {
    if (authType === "bootstrap") await policy.recordCert(lc);
    return lc;
  }
  // bootstrap: once a client has shown its certificate, its password alone no longer suffices.
  if (authType === "bootstrap" && idMethod !== "cert" && (await policy.certSeen(lc))) return undefined;
  const own = c.passwords.get(lc);
  if (c.secure.has(lc)) {
    if (own === undefined || req.password !== own) return undefined;
  } else if (req.password !== policy.sitePassword && (own === undefined || req.password !== own)) {
    return undefined;
  }
  return lc;
}
