// The contextualization parameter file (paper Figure 1) as a typed value: parse, serialize,
// and the JSON form the agent sends as the `vacfg-context` probe.
import { ProtocolError } from "./errors.js";
import { el, parseXml, serializeXml, type XmlElement } from "./xml.js";

export interface ParamItem {
  value: string;
  name?: string;
}

export type ParamValue = { kind: "value"; value: string } | { kind: "list"; items: ParamItem[] };

/** Parameter name -> value, in file order (order is kept so files round-trip byte for byte). */
export type ParameterFile = Map<string, ParamValue>;

/** The JSON form: a value is a string; a list is string[], or {name?, value}[] when any item is named. */
export type ParamJson = string | string[] | { name?: string; value: string }[];
export type ParameterFileJson = Record<string, ParamJson>;

/** Name of the probe whose data is toJSON(params); templates read metadata.Probes['vacfg-context'].json. */
export const CONTEXT_PROBE_NAME = "vacfg-context";

/** Where delivery puts the file in the guest, and where the agent looks first. */
export const CONTEXT_FILE_PATH = "/etc/vacfg/context.xml";

// Names become JSON keys and dnsmasq/cloud-init identifiers; a conservative pattern also keeps
// integer-like names (which JSON objects would reorder) out.
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** Parameter files are small; a generous cap keeps a hostile file from costing much. */
const MAX_BYTES = 4 * 1024 * 1024;

export function isValidParamName(name: string): boolean {
  return NAME_RE.test(name);
}

function fail(source: string, line: number | undefined, msg: string): never {
  throw new ProtocolError("PARAMS_INVALID", `${source}:${line ?? "?"}: ${msg}`);
}

/**
 * Figure 1 as printed closes <Parameters> early and carries on; the XML parser then blames the
 * next element. Name the line of the early close too, since that is the line to fix.
 */
function strayCloseHint(xml: string): string {
  const m = /<\/Parameters\s*>/.exec(xml);
  if (!m) return "";
  const rest = xml.slice(m.index + m[0].length);
  if (!/<[A-Za-z]/.test(rest)) return "";
  const line = xml.slice(0, m.index).split("\n").length;
  return `; the root is closed by </Parameters> at line ${line} before the document ends`;
}

/** Parses a parameter file; errors (PARAMS_INVALID) name source:line and the Param. */
export function parseParameterFile(xml: string, source = "parameter file"): ParameterFile {
  let root: XmlElement;
  try {
    root = parseXml(xml, { source, maxBytes: MAX_BYTES });
  } catch (err) {
    // Keep the XML parser's "source:line: reason" text; the code says which document failed.
    const msg = err instanceof Error ? err.message : String(err);
    throw new ProtocolError("PARAMS_INVALID", `${msg} (not a well-formed parameter file${strayCloseHint(xml)})`, { cause: err });
  }
  if (root.tag !== "Parameters") fail(source, root.line, `root element is <${root.tag}>, expected <Parameters>`);
  if (root.text !== undefined && root.text.trim() !== "") fail(source, root.line, "<Parameters> may hold only <Param> elements");
  const out: ParameterFile = new Map();
  for (const p of root.children) {
    if (p.tag !== "Param") fail(source, p.line, `unexpected <${p.tag}> in <Parameters>`);
    if (p.tail !== undefined && p.tail.trim() !== "") fail(source, p.line, "text between <Param> elements");
    const name = p.attrs.name;
    if (name === undefined) fail(source, p.line, "<Param> without a name attribute");
    const where = `Param "${name}"`;
    if (!isValidParamName(name)) fail(source, p.line, `${where}: invalid name`);
    if (out.has(name)) fail(source, p.line, `${where}: defined twice`);
    for (const a of Object.keys(p.attrs)) {
      if (a !== "name" && a !== "value") fail(source, p.line, `${where}: unknown attribute ${a}`);
    }
    const hasValue = p.attrs.value !== undefined;
    const lists = p.children.filter((c) => c.tag === "List");
    if (p.children.length !== lists.length) {
      const bad = p.children.find((c) => c.tag !== "List")!;
      fail(source, bad.line, `${where}: unexpected <${bad.tag}> (only <List> may appear in <Param>)`);
    }
    if (p.text !== undefined && p.text.trim() !== "") fail(source, p.line, `${where}: text content is not allowed, use value=`);
    if (hasValue && lists.length > 0) fail(source, p.line, `${where}: has both value= and a <List>`);
    if (hasValue) {
      out.set(name, { kind: "value", value: p.attrs.value });
      continue;
    }
    if (lists.length !== 1) fail(source, p.line, `${where}: needs value= or exactly one <List>`);
    const list = lists[0];
    const items: ParamItem[] = [];
    for (const it of list.children) {
      if (it.tag !== "Item") fail(source, it.line, `${where}: unexpected <${it.tag}> in <List>`);
      const v = it.attrs.value;
      if (v === undefined) fail(source, it.line, `${where}: <Item> without a value attribute`);
      for (const a of Object.keys(it.attrs)) {
        if (a !== "name" && a !== "value") fail(source, it.line, `${where}: unknown <Item> attribute ${a}`);
      }
      items.push(it.attrs.name !== undefined ? { name: it.attrs.name, value: v } : { value: v });
    }
    out.set(name, { kind: "list", items });
  }
  return out;
}

/** The element tree of a parameter file (attribute order: name, value). */
export function parameterFileToXml(params: ParameterFile): XmlElement {
  const root = el("Parameters");
  for (const [name, v] of params) {
    if (v.kind === "value") {
      root.children.push(el("Param", { name, value: v.value }));
    } else {
      const items = v.items.map((it) => el("Item", it.name !== undefined ? { name: it.name, value: it.value } : { value: it.value }));
      root.children.push(el("Param", { name }, [el("List", {}, items)]));
    }
  }
  return root;
}

/** Serializes with an XML declaration and indentation, ending in a newline (it is a file humans read). */
export function serializeParameterFile(params: ParameterFile): string {
  return serializeXml(parameterFileToXml(params), { pretty: true, declaration: true }) + "\n";
}

/** The JSON form sent as probe data of CONTEXT_PROBE_NAME. */
export function parameterFileToJson(params: ParameterFile): ParameterFileJson {
  const out: ParameterFileJson = {};
  for (const [name, v] of params) {
    if (v.kind === "value") out[name] = v.value;
    else if (v.items.some((i) => i.name !== undefined)) {
      out[name] = v.items.map((i) => (i.name !== undefined ? { name: i.name, value: i.value } : { value: i.value }));
    } else out[name] = v.items.map((i) => i.value);
  }
  return out;
}

/** Inverse of parameterFileToJson; input is untrusted (it may come off a kernel command line). */
export function parameterFileFromJson(json: unknown, source = "parameter JSON"): ParameterFile {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ProtocolError("PARAMS_INVALID", `${source}: expected a JSON object`);
  }
  const out: ParameterFile = new Map();
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    const where = `${source}: Param "${name}"`;
    if (!isValidParamName(name)) throw new ProtocolError("PARAMS_INVALID", `${where}: invalid name`);
    if (typeof v === "string") {
      out.set(name, { kind: "value", value: v });
      continue;
    }
    if (!Array.isArray(v)) throw new ProtocolError("PARAMS_INVALID", `${where}: expected a string or an array`);
    const items: ParamItem[] = v.map((it, i) => {
      if (typeof it === "string") return { value: it };
      if (typeof it === "object" && it !== null && typeof (it as ParamItem).value === "string") {
        const n = (it as ParamItem).name;
        if (n !== undefined && typeof n !== "string") throw new ProtocolError("PARAMS_INVALID", `${where}: item ${i} name is not a string`);
        return n !== undefined ? { name: n, value: (it as ParamItem).value } : { value: (it as ParamItem).value };
      }
      throw new ProtocolError("PARAMS_INVALID", `${where}: item ${i} is neither a string nor {name?, value}`);
    });
    out.set(name, { kind: "list", items });
  }
  return out;
}

/** Convenience for callers that only need a string list (DNS servers, node names). */
export function paramValues(params: ParameterFile, name: string): string[] {
  const v = params.get(name);
  if (!v) return [];
  return v.kind === "value" ? [v.value] : v.items.map((i) => i.value);
}
