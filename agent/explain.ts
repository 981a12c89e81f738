// Why an entry is bad, in words, from what the tools recorded on it (the current_* attributes
// the statistics carry): "mode 0644, should be 0600; content differs". The agent prints these
// with -v, and the diff itself with -d.
import { posixUserEntry } from "../protocol/entries.js";
import type { XmlElement } from "../protocol/xml.js";
import type { AccountDb } from "./accounts.js";

/** Attributes that are not "current value of wanted attribute X". */
const SPECIAL = new Set(["exists", "bdiff", "bfile", "modified_files", "failure", "status"]);

function normMode(m: string): string {
  const n = parseInt(m, 8);
  return Number.isNaN(n) ? m : n.toString(8).padStart(4, "0");
}

function describeIds(want: string, have: string, lookup: (n: string) => number | undefined, unit: string): string | undefined {
  const id = lookup(want);
  if (id !== undefined && String(id) === have) return undefined;
  return `${unit} ${have}, should be ${want}${id !== undefined && String(id) !== want ? ` (${unit} ${id})` : ""}`;
}

/** The reasons an entry the tools found bad is bad; empty when they recorded nothing specific. */
export function explainEntry(e: XmlElement, accounts: AccountDb): string[] {
  const a = e.attrs;
  const out: string[] = [];
  if (a.failure !== undefined) return [`the server could not bind it: ${a.failure}`];
  if (a.current_failure !== undefined) out.push(a.current_failure);
  if (a.current_exists === "false") {
    out.push(e.tag === "Package" ? "package not installed" : e.tag === "Path" ? "does not exist" : `${e.tag} does not exist`);
  } else if (a.current_exists === "true") {
    out.push("exists, should not");
  }
  for (const [k, have] of Object.entries(a)) {
    if (!k.startsWith("current_")) continue;
    const attr = k.slice("current_".length);
    if (SPECIAL.has(attr)) continue;
    if (attr === "memberof") {
      out.push(`member of "${have}", should be of "${[...new Set(posixUserEntry(e).memberOf)].sort().join(",")}"`);
      continue;
    }
    const want = attr === "to" ? (a.to ?? a.target) : a[attr];
    if (want === undefined) continue;
    if (attr === "mode") {
      if (normMode(want) !== normMode(have)) out.push(`mode ${normMode(have)}, should be ${normMode(want)}`);
    } else if (attr === "owner") {
      const d = describeIds(want, have, (n) => accounts.uidOf(n), "uid");
      if (d) out.push(`owner ${d}`);
    } else if (attr === "group") {
      const d = describeIds(want, have, (n) => accounts.gidOf(n), "gid");
      if (d) out.push(`group ${d}`);
    } else if (attr === "to") {
      out.push(`points to ${have}, should point to ${want}`);
    } else if (attr === "version" && want === "auto") {
      out.push(`version ${have}, the package lists have a newer one (version="auto")`);
    } else if (want !== have) {
      out.push(`${attr} ${have}, should be ${want}`);
    }
  }
  if (a.current_status !== undefined && a.current_status !== (a.target_status ?? a.status)) out.push(`service is ${a.current_status}, should be ${a.target_status ?? a.status}`);
  if (a.current_modified_files !== undefined) out.push(`files changed since installed: ${a.current_modified_files}`);
  if (a.current_exists !== "false" && (a.current_bdiff !== undefined || a.current_bfile !== undefined)) out.push("content differs");
  return out;
}

/** The unified diff an entry carries (current_bdiff), as text; undefined when it has none. */
export function entryDiff(e: XmlElement): string | undefined {
  const d = e.attrs.current_bdiff;
  return d === undefined ? undefined : Buffer.from(d, "base64").toString("utf8");
}
