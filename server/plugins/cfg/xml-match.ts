// Group/Client conditionals in Cfg's own XML files (privkey.xml, authorizedkeys.xml), as
// upstream's StructFile.XMLMatch: matching conditionals dissolve into their children.
import type { XmlElement } from "../../../protocol/xml.js";
import type { ClientMetadata } from "../../core/metadata.js";

function admits(item: XmlElement, meta: ClientMetadata): boolean {
  const negate = (item.attrs.negate ?? "false").toLowerCase() === "true";
  const name = item.attrs.name ?? "";
  const test = item.tag === "Group" ? meta.groups.has(name) : meta.hostname === name;
  return negate !== test;
}

function resolveChildren(children: XmlElement[], meta: ClientMetadata): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of children) {
    if (c.tag === "Group" || c.tag === "Client") {
      if (admits(c, meta)) out.push(...resolveChildren(c.children, meta));
    } else {
      out.push({ ...c, attrs: { ...c.attrs }, children: resolveChildren(c.children, meta) });
    }
  }
  return out;
}

/** A copy of root with the conditionals resolved for this client. */
export function matchConditionals(root: XmlElement, meta: ClientMetadata): XmlElement {
  return { ...root, attrs: { ...root.attrs }, children: resolveChildren(root.children, meta) };
}
