// Group/Client conditionals in repository XML files (Bcfg2's StructFile.XMLMatch): the one
// resolver Bundler, Rules, Defaults, Decisions and Properties share.
import { cloneElement, parseXml, type XmlElement } from "../../../protocol/xml.js";
import { VacfgError } from "../../../protocol/errors.js";
import type { ClientMetadata } from "../../core/metadata.js";

/** Whether a <Group>/<Client> conditional admits this client (negate="true" inverts it). */
export function conditionHolds(item: XmlElement, meta: ClientMetadata): boolean {
  const negate = (item.attrs.negate ?? "false").toLowerCase() === "true";
  const name = item.attrs.name ?? "";
  const test = item.tag === "Group" ? meta.groups.has(name) : meta.hostname === name;
  return negate !== test;
}

function isConditional(e: XmlElement): boolean {
  return e.tag === "Group" || e.tag === "Client";
}

/** Every Group/Client conditional of a file: xmlMatch's result depends only on which of them hold. */
export function conditionalsOf(root: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (n: XmlElement): void => {
    for (const c of n.children) {
      if (isConditional(c)) out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** The descendants of `root` by tag, each list in document order (findAll for every tag at once). */
export function descendantsByTag(root: XmlElement): Map<string, XmlElement[]> {
  const out = new Map<string, XmlElement[]>();
  const walk = (n: XmlElement): void => {
    for (const c of n.children) {
      const list = out.get(c.tag);
      if (list) list.push(c);
      else out.set(c.tag, [c]);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/**
 * Resolves one element inside `parent` as upstream's _xml_match does: a matching conditional's
 * children are moved to the END of its parent (so their order changes, as upstream), a
 * non-matching one is dropped, other elements keep their place and are resolved inside.
 */
function resolveInto(parent: XmlElement, item: XmlElement, meta: ClientMetadata): void {
  if (isConditional(item)) {
    if (conditionHolds(item, meta)) {
      for (const child of [...item.children]) {
        item.children.splice(item.children.indexOf(child), 1);
        parent.children.push(child);
        resolveInto(parent, child, meta);
      }
      if (item.text) parent.text = (parent.text ?? "") + item.text;
    }
    const i = parent.children.indexOf(item);
    if (i >= 0) parent.children.splice(i, 1);
    return;
  }
  for (const child of [...item.children]) resolveInto(item, child, meta);
}

/** A deep copy of `root` with every Group/Client conditional resolved for this client. */
export function xmlMatch(root: XmlElement, meta: ClientMetadata): XmlElement {
  const copy = cloneElement(root);
  for (const child of [...copy.children]) resolveInto(copy, child, meta);
  return copy;
}

/** A creator's specification file (privkey.xml, sslcert.xml...) as it applies to this client. */
export function matchedSpec(load: (path: string) => XmlElement | undefined, path: string, meta: ClientMetadata): XmlElement {
  const xml = load(path);
  if (!xml) throw new VacfgError("REPO_FILE", `${path} disappeared`);
  return xmlMatch(xml, meta);
}

/** Parses a repository XML file, naming file:line in the error (VacfgError REPO_FILE). */
export function parseRepoXml(text: string, path: string): XmlElement {
  try {
    return parseXml(text, { source: path });
  } catch (e) {
    throw new VacfgError("REPO_FILE", (e as Error).message, { cause: e });
  }
}

/** All descendants with this tag (lxml's `//Tag` from the root, document order). */
export function findAll(root: XmlElement, tag: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (n: XmlElement) => {
    for (const c of n.children) {
      if (c.tag === tag) out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}
