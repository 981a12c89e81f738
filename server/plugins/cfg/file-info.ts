// File metadata for Cfg entries: upstream's default Path attributes, info.xml (<FileInfo>
// with Group/Client/Path conditionals) and the legacy `:info` / `info` key-value files.
import { parseXml, type XmlElement } from "../../../protocol/xml.js";
import { VacfgError } from "../../../protocol/errors.js";
import type { ClientMetadata } from "../../core/metadata.js";

/**
 * A bundle entry that names itself only, with Bcfg2.Options' default_path_metadata after its name,
 * in the order upstream sets them (the order of the attributes on the wire comes from here): one
 * object literal (one shape) instead of seven keyed stores, which V8 runs megamorphic (about 10x
 * slower, on every Cfg entry of every build).
 */
export function withDefaultPathMetadata(name: string): Record<string, string> {
  return { name, owner: "root", group: "root", mode: "644", secontext: "__default__", important: "false", paranoid: "true", sensitive: "false" };
}

/** default_path_metadata as ordered pairs, for entries that carry other attributes already. */
export const DEFAULT_PATH_METADATA: ReadonlyArray<readonly [string, string]> = Object.entries(withDefaultPathMetadata("")).slice(1);

/** A parsed info file: picks the attributes for one client and entry. */
export interface FileInfoSource {
  path: string;
  /** The file has Group/Client/Path conditionals (different clients may get different attributes). */
  conditional: boolean;
  /** Ordered attributes to set (not to be changed: they may be shared), or throws when the file has nothing for this client. */
  attributesFor(entryName: string, meta: ClientMetadata): ReadonlyArray<readonly [string, string]>;
}

function holds(item: XmlElement, meta: ClientMetadata, entryName: string): boolean {
  const negate = (item.attrs.negate ?? "false").toLowerCase() === "true";
  const name = item.attrs.name ?? "";
  let test: boolean;
  if (item.tag === "Group") test = meta.groups.has(name);
  else if (item.tag === "Client") test = meta.hostname === name;
  else test = entryName === name; // <Path name=...>
  return negate !== test;
}

/** Upstream StructFile._match: conditionals dissolve into their matching children; others kept. */
function collectInfo(items: XmlElement[], meta: ClientMetadata, entryName: string, out: XmlElement[]): void {
  for (const item of items) {
    if (item.tag === "Group" || item.tag === "Client" || item.tag === "Path") {
      if (holds(item, meta, entryName)) collectInfo(item.children, meta, entryName, out);
    } else if (item.tag === "Info") {
      out.push(item);
    }
  }
}

/** An <Info>'s attributes as pairs, listed once per parsed element (the parse is never changed). */
const infoAttrs = new WeakMap<XmlElement, ReadonlyArray<readonly [string, string]>>();
function attrsOf(info: XmlElement): ReadonlyArray<readonly [string, string]> {
  let pairs = infoAttrs.get(info);
  if (!pairs) infoAttrs.set(info, (pairs = Object.entries(info.attrs)));
  return pairs;
}

export function parseInfoXml(text: string, path: string): FileInfoSource {
  let root: XmlElement;
  try {
    root = parseXml(text, { source: path });
  } catch (e) {
    throw new VacfgError("REPO_FILE", (e as Error).message, { cause: e });
  }
  if (root.tag !== "FileInfo" && root.tag !== "fileinfo") {
    throw new VacfgError("REPO_FILE", `${path}:${root.line ?? 1}: root element must be <FileInfo>, not <${root.tag}>`);
  }
  const conditional = root.children.some((c) => c.tag !== "Info");
  // Without conditionals every client and entry gets the first <Info>: its attributes listed once.
  const fixed = !conditional && root.children[0] ? Object.entries(root.children[0].attrs) : undefined;
  return {
    path,
    conditional,
    attributesFor(entryName, meta) {
      if (fixed) return fixed;
      const found: XmlElement[] = [];
      collectInfo(root.children, meta, entryName, found);
      // Upstream warns on several matches and uses the first.
      const info = found[0];
      if (!info) throw new VacfgError("REPO_FILE", `Failed to set metadata for file ${entryName}: no <Info> in ${path} applies to ${meta.hostname}`);
      return attrsOf(info);
    },
  };
}

/** Legacy `:info` files: `key: value` lines (owner, group, mode, paranoid, ...). */
export function parseLegacyInfo(text: string, path: string): FileInfoSource {
  const attrs: Array<[string, string]> = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^([A-Za-z_]+)\s*:\s*(.*)$/.exec(line);
    if (!m) throw new VacfgError("REPO_FILE", `${path}:${i + 1}: expected "key: value"`);
    let key = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (key === "perms") key = "mode"; // the legacy name for mode
    attrs.push([key, value]);
  });
  return { path, conditional: false, attributesFor: () => attrs };
}
