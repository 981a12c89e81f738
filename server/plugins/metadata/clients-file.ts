// clients.xml as upstream Metadata reads it: names (lower-cased), profiles, addresses and
// aliases, uuid, passwords, secure/floating flags, auth modes and versions.
import { VacfgError } from "../../../protocol/errors.js";
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
  /** alias name → client name. */
  aliases: Map<string, string>;
  raliases: Map<string, Set<string>>;
  uuid: Map<string, string>;
  /** Keyed by the name as written (upstream does not lower-case this map). */
  auth: Map<string, string>;
  secure: Set<string>;
  floating: Set<string>;
  passwords: Map<string, string>;
  versions: Map<string, string>;
  /** client → profile(s) from profile=. */
  profiles: Map<string, string[]>;
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
    auth: new Map(),
    secure: new Set(),
    floating: new Set(),
    passwords: new Map(),
    versions: new Map(),
    profiles: new Map(),
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

/** One <Client> element's attributes and <Alias> children into the model, as upstream reads them. */
function addClient(m: ClientsModel, a: Record<string, string>, aliases: Array<Record<string, string>>): void {
  const name = a.name.toLowerCase();
  if (a.address !== undefined) addAddress(m, a.address, name);
  if (a.auth !== undefined) m.auth.set(a.name, a.auth);
  if (a.uuid !== undefined) m.uuid.set(a.uuid, name);
  if ((a.secure ?? "false").toLowerCase() === "true") m.secure.add(name);
  if ((a.location ?? "fixed") === "floating" || (a.floating ?? "false").toLowerCase() === "true") m.floating.add(name);
  if (a.password !== undefined) m.passwords.set(name, a.password);
  if (a.version !== undefined) m.versions.set(name, a.version);
  const ra = new Set<string>();
  m.raliases.set(name, ra);
  for (const al of aliases) {
    if (!al.name) continue;
    m.aliases.set(al.name, name);
    ra.add(al.name);
    if (al.address !== undefined) addAddress(m, al.address, name);
  }
  m.clients.push(name);
  m.known.add(name);
  if (a.profile !== undefined) {
    const p = m.profiles.get(name);
    if (p) p.push(a.profile);
    else m.profiles.set(name, [a.profile]);
  }
}

/** clients.xml (with its XIncludes resolved when `tree` does it: included <Clients> nest). */
export function parseClientsXml(text: string, path: string, tree: TreeParser = parseRepoXml): ClientsModel {
  const root = tree(text, path);
  if (root.tag !== "Clients") {
    throw new VacfgError("REPO_FILE", `${path}:${root.line ?? 1}: root element is <${root.tag}>, expected <Clients>`);
  }
  const m = emptyClients();
  for (const c of findAll(root, "Client")) {
    if (!c.attrs.name) throw new VacfgError("REPO_FILE", `${sourceOf(c, path)}:${c.line ?? 0}: <Client> without name=`);
    addClient(m, c.attrs, c.children.filter((x) => x.tag === "Alias").map((x) => x.attrs));
  }
  return m;
}

/**
 * Applies to `m` (in place) an edit that changed clients.xml (clients-writer.ts), so that `m`
 * equals the parse of the new text; false when that is not certain (an alias, a name on several
 * <Client> elements, another attribute), and the file must be parsed again.
 */
export function applyClientsEdit(m: ClientsModel, e: ClientsEdit): boolean {
  const name = e.name.toLowerCase();
  if (!m.known.has(name)) {
    if ([...m.aliases.keys()].some((a) => a.toLowerCase() === name)) return false;
    // The text changed and the client was absent: it was inserted, as the last <Client>.
    const attrs = e.op === "insert" ? e.attrs : e.absent;
    if (!Array.isArray(attrs)) return false;
    addClient(m, Object.fromEntries([["name", e.name], ...attrs]), []);
    return true;
  }
  if (e.op !== "set" || m.clients.indexOf(name) !== m.clients.lastIndexOf(name)) return false;
  if (e.attr === "version") m.versions.set(name, e.value);
  else if (e.attr === "profile") m.profiles.set(name, [e.value]);
  else return false;
  return true;
}
