// The `users` contextualization parameter (paper Figure 1: <Item name="login" value="ssh public key"/>)
// as configuration: per user a POSIXGroup and POSIXUser, the home and ~/.ssh directories, and
// ~/.ssh/authorized_keys (0600, owned by the user). Entries come already bound (Bound*), so no
// generator is needed and nothing about these users lives in the repository (a vacfg extension:
// upstream Bcfg2 has no Context plugin).
//
// Ids: the user at position i (0-based) of the signed list gets uid = gid = CONTEXT_UID_BASE + i.
// Every node of a deployment receives the same signed list, so every node computes the same ids;
// add new users at the end of the list to keep existing ids.
import { el, type XmlElement } from "../../protocol/xml.js";

export const CONTEXT_USERS_BUNDLE = "context-users";
export const CONTEXT_UID_BASE = 2001;
/** Ids 2001..2099: the example repository's own accounts (torqueadm 2100) stay clear of them. */
export const CONTEXT_USERS_MAX = 99;

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
// One OpenSSH authorized_keys line: optional options are not accepted, a key type, base64, comment.
const SSH_KEY = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

export interface ContextUser {
  name: string;
  uid: number;
  key: string;
}

/**
 * The users of a checked parameter set (Context params as JSON), with their ids; throws an error
 * naming the item for a bad name, a bad key, a duplicate or too many users.
 */
export function contextUsers(params: Record<string, unknown>): ContextUser[] {
  const list = params.users;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new Error(`parameter "users" is not a list of <Item name="login" value="ssh key"/>`);
  if (list.length > CONTEXT_USERS_MAX) throw new Error(`parameter "users" lists ${list.length} users; at most ${CONTEXT_USERS_MAX}`);
  const seen = new Set<string>();
  return list.map((item: unknown, i) => {
    const at = `parameter "users" item ${i + 1}`;
    const { name, value } = (typeof item === "object" && item !== null ? item : {}) as { name?: unknown; value?: unknown };
    if (typeof name !== "string" || !USER_NAME.test(name)) throw new Error(`${at}: name ${JSON.stringify(name)} is not a POSIX login name ([a-z_][a-z0-9_-]*, at most 32)`);
    if (seen.has(name)) throw new Error(`${at}: user "${name}" is listed twice`);
    seen.add(name);
    const key = typeof value === "string" ? value.trim() : "";
    if (!SSH_KEY.test(key)) throw new Error(`${at} (${name}): value is not one OpenSSH public key line`);
    return { name, uid: CONTEXT_UID_BASE + i, key };
  });
}

/** The bundle of bound entries for these users. */
export function contextUsersBundle(users: ContextUser[]): XmlElement {
  const entries: XmlElement[] = [];
  for (const u of users) {
    const home = `/home/${u.name}`;
    const own = { owner: u.name, group: u.name };
    entries.push(
      el("BoundPOSIXGroup", { name: u.name, gid: String(u.uid) }),
      el("BoundPOSIXUser", { name: u.name, uid: String(u.uid), group: u.name, gecos: `${u.name} (context user)`, home, shell: "/bin/bash" }),
      el("BoundPath", { name: home, type: "directory", ...own, mode: "0750" }),
      el("BoundPath", { name: `${home}/.ssh`, type: "directory", ...own, mode: "0700" }),
      el("BoundPath", { name: `${home}/.ssh/authorized_keys`, type: "file", ...own, mode: "0600" }, [], `${u.key}\n`),
    );
  }
  return el("Bundle", { name: CONTEXT_USERS_BUNDLE }, entries);
}
