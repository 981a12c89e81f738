// `vacfg client add|update|del|list` (bcfg2-admin client): clients.xml edited through the writer the
// server uses (server/plugins/metadata/clients-writer.ts: text edits keeping comments and layout,
// the O_EXCL lock, atomic replace), so a running server sees each edit on its next request.
import { isIP } from "node:net";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { VacfgError } from "../../protocol/errors.js";
import { checkClientName, clientNameProblem, quoteName } from "../core/client-name.js";
import { clientExistsInText, editClientsXml } from "../plugins/metadata/clients-writer.js";
import { parseGroupsXml } from "../plugins/metadata/groups-file.js";
import type { Store } from "../store/store.js";

/** The attributes bcfg2-admin client accepts (valid_attribs). */
export const CLIENT_ATTRIBUTES = ["profile", "uuid", "password", "floating", "secure", "address", "auth"] as const;

const BOOL = /^(true|false)$/i;
const AUTH = ["cert", "cert+password", "bootstrap"];

/** KEY=VALUE arguments → attributes, each checked as the server would read it. */
export function clientAttributes(pairs: string[], repo: string): Array<[string, string]> {
  return pairs.map((pair): [string, string] => {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? "" : pair.slice(eq + 1);
    if (eq < 0 || !(CLIENT_ATTRIBUTES as readonly string[]).includes(key)) {
      throw new VacfgError("METADATA", `Attribute ${key} unknown (give KEY=VALUE). Valid attributes: ${CLIENT_ATTRIBUTES.join(", ")}`);
    }
    if ((key === "floating" || key === "secure") && !BOOL.test(value)) throw new VacfgError("METADATA", `${key} must be true or false, found "${value}"`);
    if (key === "address" && isIP(value) === 0) throw new VacfgError("METADATA", `address "${value}" is not an IP address`);
    if (key === "auth" && !AUTH.includes(value)) throw new VacfgError("METADATA", `auth must be one of ${AUTH.join(", ")}, found "${value}"`);
    if (key === "uuid" && clientNameProblem(value)) throw new VacfgError("CLIENT_NAME", `uuid ${quoteName(value)} ${clientNameProblem(value)}`);
    if (key === "profile") checkProfile(repo, value);
    return [key, value];
  });
}

/** A profile must be a group groups.xml declares with profile="true" (the server refuses others in AssertProfile too). */
function checkProfile(repo: string, profile: string): void {
  const path = join(repo, "Metadata/groups.xml");
  const groups = parseGroupsXml(readFileSync(path, "utf8"), path);
  const g = groups.groups.get(profile);
  if (!g) throw new VacfgError("PROFILE", `profile "${profile}" is not a group of ${path}`);
  if (!g.isProfile) throw new VacfgError("PROFILE", `group "${profile}" is not a profile group (profile="true") in ${path}`);
}

function clientsPath(repo: string): string {
  return join(repo, "Metadata/clients.xml");
}

function currentText(repo: string): string {
  try {
    return readFileSync(clientsPath(repo), "utf8");
  } catch {
    return "";
  }
}

/** bcfg2-admin client add NAME [KEY=VALUE…]: refused when the name (or an alias of that name) exists. */
export async function addClient(repo: string, name: string, attrs: Array<[string, string]>): Promise<void> {
  const client = checkClientName(name);
  if (clientExistsInText(currentText(repo), client)) throw new VacfgError("METADATA", `Client ${client} already exists`);
  const changed = await editClientsXml(clientsPath(repo), { op: "insert", name: client, attrs });
  if (!changed) throw new VacfgError("METADATA", `Client ${client} already exists`);
}

/** bcfg2-admin client update NAME KEY=VALUE…: each attribute changed in place (or appended). */
export async function updateClient(repo: string, name: string, attrs: Array<[string, string]>): Promise<void> {
  const client = checkClientName(name);
  if (attrs.length === 0) throw new VacfgError("METADATA", "update needs at least one KEY=VALUE");
  for (const [attr, value] of attrs) await editClientsXml(clientsPath(repo), { op: "set", name: client, attr, value });
}

/** bcfg2-admin client del NAME: its element leaves clients.xml and its registration the store. */
export async function removeClient(repo: string, name: string, store?: Store): Promise<void> {
  const client = checkClientName(name);
  const inFile = clientExistsInText(currentText(repo), client);
  const inStore = store ? (await store.getClient(client)) !== undefined : false;
  if (!inFile && !inStore) throw new VacfgError("METADATA", `Client ${client} does not exist`);
  if (inFile) await editClientsXml(clientsPath(repo), { op: "remove", name: client });
  if (inStore) await store!.deleteClient(client);
}
