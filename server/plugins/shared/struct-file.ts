// Upstream's StructFile: a repository XML file (bundle, Rules, Defaults) that is a Genshi markup
// template when it is named *.genshi or declares xmlns:py="http://genshi.edgewall.org/". Templates
// are rendered per client with `metadata` and `repo` (upstream's get_xml_template_data), then
// Group/Client conditionals are resolved as for any other file.
import { parseXml, serializeXml, type XmlElement } from "../../../protocol/xml.js";
import type { Dependencies } from "../../core/file-cache.js";
import type { ClientMetadata } from "../../core/metadata.js";
import { compileMarkup, GENSHI_NS, type CompiledMarkup } from "../../templates/genshi/markup.js";
import { conditionalsOf, conditionHolds, xmlMatch } from "./xml-match.js";
import { noteQueryUse, templateMetadata } from "./template-data/template-data.js";
import { includingParser } from "./xinclude.js";
import type { ElementDecryptor } from "./encryption.js";

export interface StructFile {
  path: string;
  /** The file as parsed (XIncludes resolved): what upstream indexes (entry names, priority=). */
  root: XmlElement;
  /** Set when the file is a Genshi template. */
  template?: CompiledMarkup;
}

export function isGenshiTemplate(path: string, root: XmlElement): boolean {
  return path.endsWith(".genshi") || root.attrs["xmlns:py"] === GENSHI_NS;
}

/** A FileCache parse function for StructFiles of the repository at `repo` (`encrypted="NAME"` elements decrypted by `decrypt`). */
export function structFileParser(repo: string, decrypt?: ElementDecryptor): (text: string, path: string, deps: Dependencies) => StructFile {
  return (text, path, deps) => {
    const root = includingParser(repo, deps)(text, path);
    decrypt?.(root, path);
    return isGenshiTemplate(path, root) ? { path, root, template: noteQueryUse(compileMarkup(text, path), text) } : { path, root };
  };
}

/**
 * Upstream XMLMatch: the file for this client (rendered first when it is a template), with
 * Group/Client resolved. A template error is thrown as a RenderError naming file:line.
 */
export function structFor(file: StructFile, meta: ClientMetadata, repo: string): XmlElement {
  if (!file.template) return xmlMatch(file.root, meta);
  const rendered = file.template.render({ metadata: templateMetadata(meta), repo });
  // Upstream serializes Genshi's output and parses it again with Bcfg2's parser (remove_blank_text).
  return xmlMatch(parseXml(serializeXml(rendered), { source: file.path }), meta);
}

/**
 * structFor shared between clients: a file that is not a template is matched once per combination
 * of its Group/Client conditionals that hold (all xmlMatch looks at). The trees are shared, so
 * callers must not change them (clone first).
 */
export class SharedMatches {
  private readonly known = new WeakMap<StructFile, { conditionals: XmlElement[]; trees: Map<string, XmlElement> }>();

  constructor(private readonly repo: string) {}

  get(file: StructFile, meta: ClientMetadata): XmlElement {
    if (file.template) return structFor(file, meta, this.repo);
    let known = this.known.get(file);
    if (!known) this.known.set(file, (known = { conditionals: conditionalsOf(file.root), trees: new Map() }));
    let key = "";
    for (const c of known.conditionals) key += conditionHolds(c, meta) ? "1" : "0";
    let tree = known.trees.get(key);
    if (!tree) {
      tree = xmlMatch(file.root, meta);
      if (known.trees.size < 1024) known.trees.set(key, tree);
    }
    return tree;
  }
}
