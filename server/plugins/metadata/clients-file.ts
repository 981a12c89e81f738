// clients.xml as upstream Metadata reads it: names (lower-cased), profiles, addresses and
// aliases, uuid, passwords, secure/floating flags, auth modes and versions. Names, aliases and
// uuids follow the client-name rule (server/core/client-name.ts); an entry that breaks it is
// left out and reported with file:line, and the rest of the file still loads.
import { isIP } from "node:net";
import { VacfgError } from "../../../protocol/errors.js";
import { canonicalClientName, clientNameProblem, quoteName } from "../../core/client-name.js";
import { parseRepoXml, findAll } from "../shared/xml-match.js";
import { sourceOf, type TreeParser } from "../shared/xinclude.js";
import type { ClientsEdit } from "./clients-writer.js";

export type AuthMode = "cert" | "cert+password" | "bootstrap";

export interface ClientsModel {
  /** Lower-cased client names in document order. */
  clients: string[];
  known: Set<string>;
  /** address → client names (clients.xml address= and Alias address=). */
  addresses: Map<string, string[]>;
  raddresses: Map<string, Set<string>>;
  /** alias name (lower-cased) → client name. */
  aliases: Map<string, string>;
  /** client name → its aliases; only clients that have some (an empty Set per client is ~200 bytes × 100,000). */
  raliases: Map<string, Set<string>>;
  /** uuid (lower-cased) → client name. */
  uuid: Map<string, string>;
  /** client name → its uuid as written (what templates see). */
  ruuid: Map<string, string>;
  /** client name (lower-cased; upstream keys it by the name as written) → auth mode. */
  auth: Map<string, string>;
  secure: Set<string>;
  floating: Set<string>;
  passwords: Map<string, string>;
  versions: Map<string, string>;
  /** client → its profile= (a client is listed once, so one profile). */
  profiles: Map<string, string>;
  /** Entries left out, as "file:line: why" (the Metadata plugin logs them; lint reports them). */
  problems: string[];
  /**
   * Names whose entry was left out (a bad alias, uuid or address): they get 401 and are not
   * registered again until the entry is fixed, so a broken entry never loses a client its
   * secure flag, password or auth mode.
   */
  blocked: Set<string>;
}

export function emptyClients(): ClientsModel {
  return {
    clients: [],
    known: new Set(),
    addresses: new Map(),
    raddresses: new Map(),
    aliases: new Map(),
    raliases: new Map(),
    uuid: new Map(),
    ruuid: new Map(),
    auth: new Map(),
    secure: new Set(),
    floating: new Set(),
    passwords: new Map(),
    versions: new Map(),
    profiles: new Map(),
    problems: [],
    blocked: new Set(),
  };
}

function addAddress(m: ClientsModel, addr: string, name: string): void {
  const l = m.addresses.get(addr);
  if (l) l.push(name);
  else m.addresses.set(addr, [name]);
  let r = m.raddresses.get(name);
  if (!r) m.raddresses.set(name, (r = new Set()));
  r.add(addr);
}

/** Why a <Client> element (attributes, <Alias> children) cannot be loaded, or undefined. */
function entryProblem(a: Record<string, string>, aliases: Array<Record<string, string>>): string | undefined {
  const nameProblem = clientNameProblem(a.name ?? "");
  if (nameProblem) return `client name ${quoteName(a.name ?? "")} ${nameProblem}`;
  if (a.uuid !== undefined && clientNameProblem(a.uuid)) return `uuid ${quoteName(a.uuid)} of ${a.name} ${clientNameProblem(a.uuid)}`;
  for (const al of aliases) {
    if (clientNameProblem(al.name ?? "")) return `alias ${quoteName(al.name ?? "")} of ${a.name} ${clientNameProblem(al.name ?? "")}`;
  }
  for (const addr of [a.address, ...aliases.map((al) => al.address)]) {
    if (addr !== undefined && isIP(addr) === 0) return `address ${quoteName(addr)} of ${a.name} is not an IP address`;
  }
  return undefined;
}

/** One valid <Client> element's attributes and <Alias> children into the model, as upstream reads them. */
function addClient(m: ClientsModel, a: Record<string, string>, aliases: Array<Record<string, string>>): void {
  const name = canonicalClientName(a.name);
  if (a.address !== undefined) addAddress(m, a.address, name);
  if (a.auth !== undefined) m.auth.set(name, a.auth);
  if (a.uuid !== undefined) {
    m.uuid.set(canonicalClientName(a.uuid), name);
    m.ruuid.set(name, a.uuid);
  }
  if ((a.secure ?? "false").toLowerCase() === "true") m.secure.add(name);
  if ((a.location ?? "fixed") === "floating" || (a.floating ?? "false").toLowerCase() === "true") m.floating.add(name);
  if (a.password !== undefined) m.passwords.set(name, a.password);
  if (a.version !== undefined) m.versions.set(name, a.version);
  for (const al of aliases) {
    const alias = canonicalClientName(al.name);
    m.aliases.set(alias, name);
    let ra = m.raliases.get(name);
    if (!ra) m.raliases.set(name, (ra = new Set()));
    ra.add(alias);
    if (al.address !== undefined) addAddress(m, al.address, name);
  }
  m.clients.push(name);
  m.known.add(name);
  if (a.profile !== undefined) m.profiles.set(name, a.profile);
}

/** clients.xml (with its XIncludes resolved when `tree` does it: included <Clients> nest). */
export function parseClientsXml(text: string, path: string, tree: TreeParser = parseRepoXml): ClientsModel {
  const root = tree(text, path);
  if (root.tag !== "Clients") {
    throw new VacfgError("REPO_FILE", `${path}:${root.line ?? 1}: root element is <${root.tag}>, expected <Clients>`);
  }
  const m = emptyClients();
  const where = new Map<string, string>();
  for (const c of findAll(root, "Client")) {
    const aliases = c.children.filter((x) => x.tag === "Alias").map((x) => x.attrs);
    const at = `${sourceOf(c, path)}:${c.line ?? 0}`;
    const problem = c.attrs.name === undefined ? "<Client> without name=" : entryProblem(c.attrs, aliases);
    if (problem === undefined) {
      // Upstream merges the two (profiles, addresses and aliases of both): one client would get two
      // machines' bundles. The whole file is refused; the server keeps the last good one.
      const key = canonicalClientName(c.attrs.name!);
      const first = where.get(key);
      if (first !== undefined) throw new VacfgError("REPO_FILE", `${at}: client "${c.attrs.name}" is listed twice in clients.xml (first at ${first})`);
      where.set(key, at);
      addClient(m, c.attrs, aliases);
      continue;
    }
    m.problems.push(`${at}: ${problem}; entry ignored`);
    if (c.attrs.name !== undefined && !clientNameProblem(c.attrs.name)) m.blocked.add(canonicalClientName(c.attrs.name));
  }
  return m;
}

/**
 * Applies to `m` (in place) an edit that changed clients.xml (clients-writer.ts), so that `m`
 * equals the parse of the new text; false when that is not certain (an alias, another attribute),
 * and the file must be parsed again.
 */
export function applyClientsEdit(m: ClientsModel, e: ClientsEdit): boolean {
  const name = canonicalClientName(e.name);
  if (e.op === "remove") return false; // aliases, uuid, password…: a fresh parse
  if (!m.known.has(name)) {
    if (m.aliases.has(name) || m.blocked.has(name)) return false;
    // The text changed and the client was absent: it was inserted, as the last <Client>.
    const attrs = e.op === "insert" ? e.attrs : e.absent;
    if (!Array.isArray(attrs)) return false;
    const a: Record<string, string> = Object.fromEntries([["name", e.name], ...attrs]);
    if (entryProblem(a, []) !== undefined) return false;
    addClient(m, a, []);
    return true;
  }
  if (e.op !== "set") return false;
  if (e.attr === "version") m.versions.set(name, e.value);
  else if (e.attr === "profile") m.profiles.set(name, e.value);
  else return false;
  return true;
}
