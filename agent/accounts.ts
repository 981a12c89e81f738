// Owner and group names resolved through the target root's /etc/passwd and /etc/group (not the
// host's), so files in an image get the image's uids and gids.
import { readFileSync } from "node:fs";
import { inRoot } from "./root.js";

export interface AccountDb {
  uidOf(name: string): number | undefined;
  gidOf(name: string): number | undefined;
}

function parseIds(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length >= 3 && f[0] && /^\d+$/.test(f[2])) m.set(f[0], Number(f[2]));
  }
  return m;
}

function readOrEmpty(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
}

/** Reads the root's account files now; call again after POSIXUsers changed them. */
export function loadAccounts(root: string): AccountDb {
  const users = parseIds(readOrEmpty(inRoot(root, "/etc/passwd")));
  const groups = parseIds(readOrEmpty(inRoot(root, "/etc/group")));
  // root always exists, even in an empty sandbox root
  if (!users.has("root")) users.set("root", 0);
  if (!groups.has("root")) groups.set("root", 0);
  const resolve = (m: Map<string, number>, name: string) => (/^\d+$/.test(name) ? Number(name) : m.get(name));
  return { uidOf: (n) => resolve(users, n), gidOf: (n) => resolve(groups, n) };
}
