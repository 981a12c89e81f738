// The contextualization parameter file (paper Figure 1) as a typed value: parse, serialize,
// and the JSON form the agent sends as the `vacfg-context` probe. A file the site signed carries
// the node it was made for and an Ed25519 signature over signedParametersMessage (node + the
// canonical JSON form): as <Parameters node= signature=> in XML, as "@node"/"@signature" in JSON,
// so the signature survives every delivery (file, kernel command line, DHCP, NoCloud).
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

/** Who the site made a parameter file for, and its Ed25519 signature (base64, 64 bytes). */
export interface ParamSignature {
  node: string;
  signature: string;
}

/** A parameter file with its signature, when it has one. */
export interface SignedParameters {
  params: ParameterFile;
  signature?: ParamSignature;
}

/** The JSON keys of the signature; "@" is never in a parameter name, so they cannot collide. */
export const SIGNATURE_JSON_KEYS = { node: "@node", signature: "@signature" } as const;

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

/** Parses a parameter file, ignoring its signature; errors (PARAMS_INVALID) name source:line and the Param. */
export function parseParameterFile(xml: string, source = "parameter file"): ParameterFile {
  return parseSignedParameterFile(xml, source).params;
}

const NODE_RE = /^[A-Za-z0-9_.-]{1,253}$/;
const SIGNATURE_RE = /^[A-Za-z0-9+/]{86}==$/;

/** Checks the two signature fields (both or neither); `where(field)` names them in errors. */
function signatureOf(node: string | undefined, signature: string | undefined, where: (field: string) => string): ParamSignature | undefined {
  if (node === undefined && signature === undefined) return undefined;
  if (node === undefined || signature === undefined) {
    throw new ProtocolError("PARAMS_INVALID", `${where(node === undefined ? "node" : "signature")}: missing (a signed parameter file has both node and signature)`);
  }
  if (!NODE_RE.test(node)) throw new ProtocolError("PARAMS_INVALID", `${where("node")}: "${node.slice(0, 64)}" is not a node name`);
  if (!SIGNATURE_RE.test(signature)) throw new ProtocolError("PARAMS_INVALID", `${where("signature")}: not a base64 Ed25519 signature (64 bytes)`);
  return { node, signature };
}

/** Parses a parameter file with its signature attributes (<Parameters node= signature=>). */
export function parseSignedParameterFile(xml: string, source = "parameter file"): SignedParameters {
  let root: XmlElement;
  try {
    root = parseXml(xml, { source, maxBytes: MAX_BYTES });
  } catch (err) {
    // Keep the XML parser's "source:line: reason" text; the code says which document failed.
    const msg = err instanceof Error ? err.message : String(err);
    throw new ProtocolError("PARAMS_INVALID", `${msg} (not a well-formed parameter file${strayCloseHint(xml)})`, { cause: err });
  }
  if (root.tag !== "Parameters") fail(source, root.line, `root element is <${root.tag}>, expected <Parameters>`);
  for (const a of Object.keys(root.attrs)) {
    if (a !== "node" && a !== "signature" && a !== "version") fail(source, root.line, `<Parameters>: unknown attribute ${a}`);
  }
  const signature = signatureOf(root.attrs.node, root.attrs.signature, (f) => `${source}:${root.line ?? "?"}: <Parameters> ${f}=`);
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
  return signature ? { params: out, signature } : { params: out };
}

/** The element tree of a parameter file (attribute order: name, value). */
export function parameterFileToXml(params: ParameterFile, signature?: ParamSignature): XmlElement {
  const root = el("Parameters", signature ? { node: signature.node, signature: signature.signature } : {});
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
export function serializeParameterFile(params: ParameterFile, signature?: ParamSignature): string {
  return serializeXml(parameterFileToXml(params, signature), { pretty: true, declaration: true }) + "\n";
}

/** The JSON form sent as probe data of CONTEXT_PROBE_NAME (with "@node"/"@signature" when signed). */
export function parameterFileToJson(params: ParameterFile, signature?: ParamSignature): ParameterFileJson {
  const out: ParameterFileJson = {};
  for (const [name, v] of params) {
    if (v.kind === "value") out[name] = v.value;
    else if (v.items.some((i) => i.name !== undefined)) {
      out[name] = v.items.map((i) => (i.name !== undefined ? { name: i.name, value: i.value } : { value: i.value }));
    } else out[name] = v.items.map((i) => i.value);
  }
  if (signature) {
    out[SIGNATURE_JSON_KEYS.node] = signature.node;
    out[SIGNATURE_JSON_KEYS.signature] = signature.signature;
  }
  return out;
}

/** What the site signs: a fixed context, the node, and the canonical (compact JSON) form of the parameters. */
export function signedParametersMessage(node: string, params: ParameterFile): Buffer {
  return Buffer.from(`vacfg-params/1\n${node.toLowerCase()}\n${JSON.stringify(parameterFileToJson(params))}`, "utf8");
}

/** parameterFileFromJson, plus the "@node"/"@signature" pair when present. */
export function signedParametersFromJson(json: unknown, source = "parameter JSON"): SignedParameters {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ProtocolError("PARAMS_INVALID", `${source}: expected a JSON object`);
  }
  const { [SIGNATURE_JSON_KEYS.node]: node, [SIGNATURE_JSON_KEYS.signature]: sig, ...rest } = json as Record<string, unknown>;
  for (const [k, v] of [["@node", node], ["@signature", sig]] as const) {
    if (v !== undefined && typeof v !== "string") throw new ProtocolError("PARAMS_INVALID", `${source}: "${k}" is not a string`);
  }
  const signature = signatureOf(node as string | undefined, sig as string | undefined, (f) => `${source}: "@${f}"`);
  const params = parameterFileFromJson(rest, source);
  return signature ? { params, signature } : { params };
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
