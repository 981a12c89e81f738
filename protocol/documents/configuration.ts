// The configuration document (GetConfig): bundles of bound entries, sorted as upstream sorts them.
import { ProtocolError } from "../errors.js";
import { el, parseXml, serializeXml, type XmlElement, type ParseOptions, type SerializeOptions } from "../xml.js";

export interface Bundle {
  name: string;
  /** Bundle attributes other than name (kept in order). */
  attrs: Record<string, string>;
  entries: XmlElement[];
}

export interface Configuration {
  version: string;
  revision: string;
  bundles: Bundle[];
  /** Entries outside any bundle (<Independent>). */
  independent: XmlElement[];
}

/**
 * Sorts every level by the `name` attribute, stably, as Bcfg2's Core.sort_xml does under
 * Python 3: a level with two or more children where any child lacks a name keeps its order
 * (Python raises TypeError comparing None with str and leaves that list unsorted).
 */
export function sortByName(e: XmlElement): void {
  const kids = e.children;
  // Index loops: this runs on every GetConfig, early in a process too, where for-of costs an iterator result per step.
  for (let i = 0; i < kids.length; i++) sortByName(kids[i]!);
  if (kids.length < 2) return;
  let sorted = true;
  for (let i = 0; i < kids.length; i++) {
    const name = kids[i]!.attrs.name;
    if (name === undefined) return;
    if (i > 0 && name < kids[i - 1]!.attrs.name!) sorted = false;
  }
  // Already in order (most entries' children, many bundles): no copy, no sort.
  if (sorted) return;
  e.children = sortedCopy(kids);
}

/**
 * A stably sorted copy: an insertion sort for the usual bundle sizes (no work arrays, as
 * Array.prototype.sort's merge sort makes), Array.prototype.sort (stable) above that.
 */
function sortedCopy(kids: XmlElement[]): XmlElement[] {
  const out = kids.slice();
  if (out.length > 32) return out.sort(byName);
  for (let i = 1; i < out.length; i++) {
    const e = out[i]!;
    const name = e.attrs.name!;
    let j = i - 1;
    // Strictly greater only: an equal name stays after the one before it (stable).
    while (j >= 0 && out[j]!.attrs.name! > name) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = e;
  }
  return out;
}

function byName(a: XmlElement, b: XmlElement): number {
  const x = a.attrs.name!;
  const y = b.attrs.name!;
  return x < y ? -1 : x > y ? 1 : 0;
}

export function configurationToXml(cfg: Configuration): XmlElement {
  const root = el("Configuration", { version: cfg.version, revision: cfg.revision });
  for (const b of cfg.bundles) root.children.push(el("Bundle", { name: b.name, ...b.attrs }, b.entries));
  if (cfg.independent.length) root.children.push(el("Independent", {}, cfg.independent));
  return root;
}

export function serializeConfiguration(cfg: Configuration, opts: SerializeOptions = {}): string {
  const root = configurationToXml(cfg);
  sortByName(root);
  return serializeXml(root, opts);
}

export function parseConfiguration(xml: string, opts: ParseOptions = {}): Configuration {
  const root = parseXml(xml, { source: "GetConfig", keepBlankText: true, ...opts });
  if (root.tag === "error") {
    throw new ProtocolError("DOC_INVALID", `server sent an error instead of a configuration: ${root.attrs.type ?? "unknown"}`);
  }
  if (root.tag !== "Configuration") throw new ProtocolError("DOC_INVALID", `GetConfig: root is <${root.tag}>, not <Configuration>`);
  const cfg: Configuration = { version: root.attrs.version ?? "2.0", revision: root.attrs.revision ?? "-1", bundles: [], independent: [] };
  for (const c of root.children) {
    if (c.tag === "Bundle") {
      const { name, ...attrs } = c.attrs;
      cfg.bundles.push({ name: name ?? "", attrs, entries: c.children });
    } else if (c.tag === "Independent") {
      cfg.independent.push(...c.children);
    } else {
      cfg.independent.push(c);
    }
  }
  return cfg;
}

/** Every entry of the configuration with the bundle it belongs to (undefined for independent ones). */
export function allEntries(cfg: Configuration): Array<{ bundle?: string; entry: XmlElement }> {
  const out: Array<{ bundle?: string; entry: XmlElement }> = [];
  for (const b of cfg.bundles) for (const e of b.entries) out.push({ bundle: b.name, entry: e });
  for (const e of cfg.independent) out.push({ entry: e });
  return out;
}
