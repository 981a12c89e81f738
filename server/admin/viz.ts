// `vacfg viz` (bcfg2-admin viz, upstream Metadata.viz): groups.xml's groups (profiles bold, filled by
// category), optionally the bundles they bring and the clients of each profile, as a Graphviz digraph.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { XmlElement } from "../../protocol/xml.js";
import type { ClientMetadata } from "../core/metadata.js";
import { parseRepoXml } from "../plugins/shared/xml-match.js";

export interface VizOptions {
  hosts?: boolean;
  bundles?: boolean;
  key?: boolean;
  /** Only this client's groups and bundles (its metadata as the server builds it). */
  only?: ClientMetadata;
}

/** Upstream's palette for categories, in order of first use. */
const COLORS = ["steelblue1", "chartreuse", "gold", "magenta", "indianred1", "limegreen", "orange1", "lightblue2", "green1", "blue1", "yellow1", "darkturquoise", "gray66"];

const q = (s: string): string => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

function descendantsNamed(e: XmlElement, tag: string): XmlElement[] {
  return e.children.flatMap((c) => [...(c.tag === tag ? [c] : []), ...descendantsNamed(c, tag)]);
}

/**
 * The dot text. `clients` maps each client to its profile (clients.xml and the store's registrations);
 * `defaultGroup` takes clients without one, as upstream.
 */
export function vizDot(repo: string, clients: Map<string, string | undefined>, defaultGroup: string | undefined, o: VizOptions): string {
  const path = join(repo, "Metadata/groups.xml");
  const root = parseRepoXml(readFileSync(path, "utf8"), path);
  // Upstream: top-level <Group>s and those of nested <Groups> (findall("Group") + .//Groups/Group).
  const egroups = [...root.children.filter((c) => c.tag === "Group"), ...descendantsNamed(root, "Groups").flatMap((g) => g.children.filter((c) => c.tag === "Group"))];
  const categories = new Map<string, string>([["default", "grey83"]]);
  const colorOf = new Map<XmlElement, string>();
  let next = 0;
  for (const g of egroups) {
    const cat = g.attrs.category ?? "\0none";
    if (!categories.has(cat)) {
      categories.set(cat, COLORS[next]!);
      next = (next + 1) % COLORS.length;
    }
    colorOf.set(g, categories.get(cat)!);
  }
  categories.delete("\0none");
  const includeGroup = (name: string | undefined) => !o.only || (name !== undefined && o.only.groups.has(name));
  const lines: string[] = [];
  if (o.hosts) {
    const instances = new Map<string, string[]>();
    for (const [client, profile] of [...clients].sort(([a], [b]) => a.localeCompare(b))) {
      if (o.only && client === o.only.hostname) continue; // upstream's include_client, as written
      const group = profile ?? defaultGroup;
      if (group === undefined) continue;
      instances.set(group, [...(instances.get(group) ?? []), client]);
    }
    for (const [group, list] of instances) {
      lines.push(`${q(`${group}-instances`)} [ label=${q(list.join("|"))}, shape="record" ];`);
      lines.push(`${q(`${group}-instances`)} -> ${q(`group-${group}`)};`);
    }
  }
  if (o.bundles) {
    const names = [...new Set(descendantsNamed(root, "Bundle").map((b) => b.attrs.name ?? ""))].filter((b) => b && (!o.only || o.only.bundles.has(b))).sort();
    for (const b of names) lines.push(`${q(`bundle-${b}`)} [ label=${q(b)}, shape="septagon"];`);
  }
  const seen = new Set<string>();
  for (const g of egroups) {
    const name = g.attrs.name ?? "";
    seen.add(name);
    if (!includeGroup(name)) continue;
    const style = g.attrs.profile === "true" ? "filled, bold" : "filled";
    lines.push(`${q(`group-${name}`)} [label=${q(name)}, style="${style}", fillcolor=${colorOf.get(g)}];`);
    if (o.bundles) for (const b of g.children.filter((c) => c.tag === "Bundle")) lines.push(`${q(`group-${name}`)} -> ${q(`bundle-${b.attrs.name ?? ""}`)};`);
  }
  for (const g of egroups) {
    for (const parent of g.children.filter((c) => c.tag === "Group")) {
      const pname = parent.attrs.name ?? "";
      if (!seen.has(pname) && includeGroup(pname)) {
        lines.push(`${q(`group-${pname}`)} [label=${q(pname)}, style="filled", fillcolor="grey83"];`);
        seen.add(pname);
      }
      if (includeGroup(g.attrs.name)) lines.push(`${q(`group-${g.attrs.name ?? ""}`)} -> ${q(`group-${pname}`)};`);
    }
  }
  if (o.key) for (const [cat, color] of categories) lines.push(`${q(cat)} [label=${q(cat)}, shape="trapezium", style="filled", fillcolor="${color}"];`);
  const out = ["digraph groups {", '\trankdir="LR";', ...lines.map((l) => `\t${l}`)];
  if (o.key) {
    out.push(
      "\tsubgraph cluster_key {",
      '\tstyle="filled";',
      '\tcolor="lightblue";',
      '\tBundle [ shape="septagon" ];',
      '\tGroup [shape="ellipse"];',
      '\t"Group Category" [shape="trapezium"];',
      '\tProfile [style="bold", shape="ellipse"];',
      '\tHblock [label="Host1|Host2|Host3",shape="record"];',
      '\tlabel="Key";',
      "\t}",
    );
  }
  out.push("}");
  return out.join("\n") + "\n";
}
