// metadata.Properties as upstream's Properties connector gives it: a dict of file name → the
// PropertyFile (XML: .xdata, .XMLMatch(metadata), .Match(metadata); JSON: .json; YAML: .yaml), or,
// for an XML file with automatch="true", the element XMLMatch returns for this client.
import type { XmlElement } from "../../../../protocol/xml.js";
import type { ClientMetadata } from "../../../core/metadata.js";
import { PY_TYPE } from "../../../templates/python/host-objects.js";
import { xmlMatch } from "../xml-match.js";
import { clientMetadataOf } from "./template-data.js";
import { xmlView, type XmlView } from "./xdata.js";
import { PyException } from "../../../templates/python/values.js";

/** What the Properties plugin hands over for one file. */
export type PropertyData =
  | { name: string; kind: "xml"; root: XmlElement; automatch: boolean }
  | { name: string; kind: "json"; json: unknown }
  | { name: string; kind: "yaml"; yaml: unknown };

function metaOf(arg: unknown): ClientMetadata {
  const m = clientMetadataOf(arg);
  if (!m) throw new PyException("TypeError", "XMLMatch() takes the client's metadata");
  return m;
}

/** An XML PropertyFile (upstream XMLPropertyFile). */
export class XmlPropertyFile {
  readonly #root: XmlElement;
  constructor(
    readonly name: string,
    root: XmlElement,
  ) {
    this.#root = root;
  }
  get xdata(): XmlView {
    return xmlView(this.#root);
  }
  XMLMatch(metadata: unknown): XmlView {
    return xmlView(xmlMatch(this.#root, metaOf(metadata)));
  }
  /** Upstream StructFile.Match: the matching top-level elements (Group/Client resolved, in document order). */
  Match(metadata: unknown): XmlView[] {
    return this.XMLMatch(metadata).getchildren();
  }
  [PY_TYPE](): string {
    return "XMLPropertyFile";
  }
}

function isPropertyData(v: unknown): v is PropertyData {
  return typeof v === "object" && v !== null && "kind" in v && "name" in v;
}

/** The dict templates see as metadata.Properties. */
export function propertiesView(source: unknown, meta: ClientMetadata): unknown {
  if (typeof source !== "object" || source === null) return source;
  const out: Record<string, unknown> = {};
  for (const [file, data] of Object.entries(source as Record<string, unknown>)) {
    if (!isPropertyData(data)) {
      out[file] = data;
      continue;
    }
    if (data.kind === "json") out[file] = { name: data.name, json: data.json };
    else if (data.kind === "yaml") out[file] = { name: data.name, yaml: data.yaml };
    else out[file] = data.automatch ? xmlView(xmlMatch(data.root, meta)) : new XmlPropertyFile(data.name, data.root);
  }
  return out;
}
