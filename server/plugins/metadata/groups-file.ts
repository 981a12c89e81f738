// groups.xml as upstream Metadata reads it: declared groups (profile/public/default/category,
// bundles) and membership predicates from nested <Group>/<Client> elements, incl. negate="true".
import { VacfgError } from "../../../protocol/errors.js";
import type { XmlElement } from "../../../protocol/xml.js";
import { parseRepoXml } from "../shared/xml-match.js";
import { sourceOf, type TreeParser } from "../shared/xinclude.js";

export interface GroupDecl {
  name: string;
  bundles: string[];
  category?: string;
  isProfile: boolean;
  isPublic: boolean;
}

/** (client, its groups so far, its categories so far) → does the declaration apply. */
export type Predicate = (client: string, groups: Set<string>, categories: Map<string, string>) => boolean;

export interface GroupsModel {
  groups: Map<string, GroupDecl>;
  /** The default="true" group (the last one declared wins, as upstream). */
  defaultGroup?: string;
  /** Groups with membership declarations, in document order (upstream's ordered_groups). */
  ordered: string[];
  membership: Map<string, Predicate[]>;
  negated: Map<string, Predicate[]>;
  /** Bundle name → where groups.xml (or a file it includes) first names it, as "file:line". */
  bundleOrigins: Map<string, string>;
}

function conditionOf(e: XmlElement): Predicate | undefined {
  const negate = (e.attrs.negate ?? "false").toLowerCase() === "true";
  const name = e.attrs.name;
  if (e.tag === "Group") return (_c, g) => negate !== (name !== undefined && g.has(name));
  if (e.tag === "Client") return (c) => negate !== (name === c);
  return undefined;
}

/** Every element below the root in document order, each with its ancestors (root first). */
function walk(e: XmlElement, ancestors: XmlElement[], out: Array<{ el: XmlElement; anc: XmlElement[] }>): void {
  for (const c of e.children) {
    out.push({ el: c, anc: ancestors });
    walk(c, [...ancestors, c], out);
  }
}

/** Whether `anc[i]` is a Group/Client (of `tags`) directly under a <Groups> (upstream's //Groups/Group). */
function underGroups(anc: XmlElement[], i: number, tags: string[]): boolean {
  return i >= 1 && tags.includes(anc[i].tag) && anc[i - 1].tag === "Groups";
}

/** groups.xml (with its XIncludes resolved when `tree` does it: included roots are nested <Groups>). */
export function parseGroupsXml(text: string, path: string, tree: TreeParser = parseRepoXml): GroupsModel {
  const root = tree(text, path);
  if (root.tag !== "Groups") {
    throw new VacfgError("REPO_FILE", `${path}:${root.line ?? 1}: root element is <${root.tag}>, expected <Groups>`);
  }
  const model: GroupsModel = { groups: new Map(), ordered: [], membership: new Map(), negated: new Map(), bundleOrigins: new Map() };
  const els: Array<{ el: XmlElement; anc: XmlElement[] }> = [];
  walk(root, [root], els);
  const below = (v: { anc: XmlElement[] }, tags: string[]) => v.anc.some((_a, i) => underGroups(v.anc, i, tags));
  // Upstream's XPath: "//Groups/Group" then "//Groups/Group//Group" (nested <Groups> come from XIncludes).
  const top = els.filter((v) => v.el.tag === "Group" && v.anc[v.anc.length - 1].tag === "Groups").map((v) => v.el);
  const nested = els.filter((v) => v.el.tag === "Group" && below(v, ["Group"])).map((v) => v.el);
  // Top-level declarations first, then nested ones: the first declaration of a name wins.
  for (const g of [...top, ...nested]) {
    const name = g.attrs.name;
    if (name === undefined) throw new VacfgError("REPO_FILE", `${sourceOf(g, path)}:${g.line ?? 0}: <Group> without name=`);
    if (model.groups.has(name)) continue;
    model.groups.set(name, {
      name,
      bundles: g.children.filter((b) => b.tag === "Bundle").map((b) => b.attrs.name ?? ""),
      category: g.attrs.category,
      isProfile: g.attrs.profile === "true",
      isPublic: g.attrs.public === "true",
    });
    if (g.attrs.default === "true") model.defaultGroup = name;
  }
  for (const { el } of els) {
    const b = el.attrs.name;
    if (el.tag === "Bundle" && b !== undefined && !model.bundleOrigins.has(b)) model.bundleOrigins.set(b, `${sourceOf(el, path)}:${el.line ?? 0}`);
  }
  // "//Groups/Group//*" then "//Groups/Client//*", each in document order.
  const candidates = [...els.filter((v) => below(v, ["Group"])), ...els.filter((v) => below(v, ["Client"]))];
  for (const { el, anc } of candidates) {
    // Only childless Group elements declare membership (upstream skips any element with children).
    if (el.tag !== "Group" || el.children.length > 0) continue;
    const name = el.attrs.name;
    if (name === undefined) throw new VacfgError("REPO_FILE", `${sourceOf(el, path)}:${el.line ?? 0}: <Group> without name=`);
    const conds = anc.map(conditionOf).filter((p): p is Predicate => p !== undefined);
    if ((el.attrs.negate ?? "false").toLowerCase() === "true") {
      push(model.negated, name, all(conds));
      continue;
    }
    const decl = model.groups.get(name);
    // Upstream looks the group up unguarded here; an undeclared one (only possible under a
    // top-level <Client>) fails the whole file, so it is an error here too, with its line.
    if (!decl) throw new VacfgError("REPO_FILE", `${sourceOf(el, path)}:${el.line ?? 0}: group "${name}" is used but never declared as a <Group> under <Groups>`);
    const category = decl.category;
    // A group in a category is suppressed when the client already has a group of that category.
    if (category) conds.push((_c, _g, cats) => !cats.has(category));
    if (!model.ordered.includes(name)) model.ordered.push(name);
    push(model.membership, name, all(conds));
  }
  return model;
}

function all(conds: Predicate[]): Predicate {
  // A loop, not every() with a callback: evaluated for every group on every build.
  return (c, g, cats) => {
    for (let i = 0; i < conds.length; i++) if (!conds[i]!(c, g, cats)) return false;
    return true;
  };
}

function push(m: Map<string, Predicate[]>, k: string, p: Predicate): void {
  const l = m.get(k);
  if (l) l.push(p);
  else m.set(k, [p]);
}
