// `vacfg compare` (bcfg2-admin compare): two configurations (GetConfig documents, or directories of
// CLIENT.xml files) entry by entry: bundles and entries removed or added, entries that moved bundle,
// changed attributes and changed content (unified diff lines), each change listed with its clients.
import { parseXml, type XmlElement } from "../../protocol/xml.js";

export interface CompareOptions {
  /** Only say that entries differ, not how. */
  quiet?: boolean;
  /** Show at most N lines of each content diff. */
  diffLines?: number;
}

/** Change text → the clients it applies to (in the order seen). */
export type Changes = Map<string, string[]>;

/** The lines only in a or only in b, as "  -line" / "  +line" (a minimal LCS diff; configurations are small). */
function lineDiff(a: string[], b: string[], limit?: number): string[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(`  -${a[i++]}`); // removals first, as difflib
    else out.push(`  +${b[j++]}`);
    if (limit !== undefined && out.length > limit) {
      out.push("  ...");
      break;
    }
  }
  return limit === 0 ? [] : out;
}

function entriesOf(config: XmlElement): Map<string, { bundle: string; el: XmlElement }> {
  const out = new Map<string, { bundle: string; el: XmlElement }>();
  for (const b of config.children) for (const e of b.children) out.set(`${e.tag}:${e.attrs.name ?? ""}`, { bundle: b.attrs.name ?? "", el: e });
  return out;
}

const bundleType = (b: XmlElement) => (b.tag === "Independent" ? "Independent bundle" : "Bundle");

/** Records the differences between configurations a and b of `client` into `changes`. */
export function compareConfigs(a: string, b: string, client: string, o: CompareOptions = {}, changes: Changes = new Map()): Changes {
  const record = (msg: string) => changes.set(msg, [...(changes.get(msg) ?? []), client]);
  const x1 = parseXml(a.trim(), { keepBlankText: true });
  const x2 = parseXml(b.trim(), { keepBlankText: true });
  const names1 = new Set(x1.children.map((e) => e.attrs.name));
  const names2 = new Set(x2.children.map((e) => e.attrs.name));
  for (const e of x1.children) if (!names2.has(e.attrs.name)) record(`Removed: ${bundleType(e)} ${e.attrs.name}`);
  for (const e of x2.children) if (!names1.has(e.attrs.name)) record(`Added: ${bundleType(e)} ${e.attrs.name}`);
  const e1 = entriesOf(x1);
  const e2 = entriesOf(x2);
  for (const [id, { bundle, el }] of e1) {
    const other = e2.get(id);
    if (!other) {
      record(`Removed: Element ${id}`);
      continue;
    }
    if (other.bundle !== bundle) record(`Changed: Element ${id} was in bundle ${bundle}, now in bundle ${other.bundle}`);
    const attrs = (x: XmlElement) => Object.entries(x.attrs).map(([k, v]) => `${k}="${v}"`).sort();
    const [a1, a2] = [attrs(el), attrs(other.el)];
    if (a1.join("\n") !== a2.join("\n")) record([`Changed: Element ${id} has different attributes`, ...(o.quiet ? [] : lineDiff(a1, a2))].join("\n"));
    const [t1, t2] = [el.text, other.el.text];
    if (t1 !== t2) {
      if (t1 === undefined) record(`Changed: Element ${id} content was added`);
      else if (t2 === undefined) record(`Changed: Element ${id} content was removed`);
      else record([`Changed: Element ${id} has different content`, ...(o.quiet ? [] : lineDiff(t1.split("\n"), t2.split("\n"), o.diffLines))].join("\n"));
    }
  }
  // Upstream checks these against the wrong side and never reports them.
  for (const id of e2.keys()) if (!e1.has(id)) record(`Added: Element ${id}`);
  return changes;
}

/** The report: each change, under the clients it applies to when several were compared. */
export function renderChanges(changes: Changes, several: boolean): string {
  const out: string[] = [];
  for (const [change, clients] of changes) {
    if (several) out.push(`===== ${clients.join(", ")} =====`);
    out.push(change);
    if (several) out.push("");
  }
  return out.length ? out.join("\n") + "\n" : "";
}
