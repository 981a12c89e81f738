// Bytes to XML-RPC messages. Strict about structure, lenient about whitespace, and
// never expands entities (DOCTYPE is refused by parseXml).
import { ProtocolError } from "../errors.js";
import { parseXml, type XmlElement } from "../xml.js";
import { XmlRpcDouble, type MethodCall, type MethodResponse, type XmlRpcValue } from "./values.js";

function bad(msg: string, e?: XmlElement): never {
  throw new ProtocolError("XMLRPC_MALFORMED", e?.line ? `line ${e.line}: ${msg}` : msg);
}

function onlyChild(e: XmlElement, tag?: string): XmlElement {
  if (e.children.length !== 1) bad(`<${e.tag}> must hold exactly one element, found ${e.children.length}`, e);
  const c = e.children[0];
  if (tag && c.tag !== tag) bad(`<${e.tag}> must hold <${tag}>, found <${c.tag}>`, c);
  return c;
}

function text(e: XmlElement): string {
  return e.text ?? "";
}

function parseIntStrict(s: string, e: XmlElement): number {
  const t = s.trim();
  if (!/^[+-]?\d+$/.test(t)) bad(`<${e.tag}> holds "${t}", not an integer`, e);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) bad(`<${e.tag}> value ${t} is out of range`, e);
  return n;
}

function parseDateTime(s: string, e: XmlElement): Date {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s.trim());
  if (!m) bad(`<dateTime.iso8601> holds "${s.trim()}", not an ISO 8601 time`, e);
  const [, y, mo, d, h, mi, se] = m;
  return new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +se));
}

export function parseValue(v: XmlElement): XmlRpcValue {
  if (v.tag !== "value") bad(`expected <value>, found <${v.tag}>`, v);
  if (v.children.length === 0) return text(v); // bare text is a string
  const t = onlyChild(v);
  switch (t.tag) {
    case "string":
      if (t.children.length) bad("<string> may not contain elements", t);
      return text(t);
    case "i4":
    case "int":
    case "i8":
      return parseIntStrict(text(t), t);
    case "boolean": {
      const b = text(t).trim();
      if (b !== "0" && b !== "1") bad(`<boolean> holds "${b}", not 0 or 1`, t);
      return b === "1";
    }
    case "double": {
      const s = text(t).trim();
      const n = Number(s);
      if (s === "" || Number.isNaN(n)) bad(`<double> holds "${s}", not a number`, t);
      return new XmlRpcDouble(n);
    }
    case "dateTime.iso8601":
      return parseDateTime(text(t), t);
    case "base64": {
      const s = text(t).replace(/\s+/g, "");
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) bad("<base64> holds characters outside base64", t);
      return Buffer.from(s, "base64");
    }
    case "nil":
      return null;
    case "array": {
      const data = onlyChild(t, "data");
      return data.children.map(parseValue);
    }
    case "struct": {
      const out: { [k: string]: XmlRpcValue } = Object.create(null);
      for (const m of t.children) {
        if (m.tag !== "member") bad(`<struct> may hold only <member>, found <${m.tag}>`, m);
        const name = m.children.find((c) => c.tag === "name");
        const value = m.children.find((c) => c.tag === "value");
        if (!name || !value || m.children.length !== 2) bad("<member> must hold one <name> and one <value>", m);
        out[text(name)] = parseValue(value);
      }
      return out;
    }
    default:
      return bad(`unknown XML-RPC type <${t.tag}>`, t);
  }
}

function parseParams(p: XmlElement | undefined): XmlRpcValue[] {
  if (!p) return [];
  return p.children.map((param) => {
    if (param.tag !== "param") bad(`<params> may hold only <param>, found <${param.tag}>`, param);
    return parseValue(onlyChild(param, "value"));
  });
}

export interface CodecLimits {
  maxBytes?: number;
}

export function parseMethodCall(body: string, limits: CodecLimits = {}): MethodCall {
  const root = parseXml(body, { source: "methodCall", maxBytes: limits.maxBytes, keepBlankText: true });
  if (root.tag !== "methodCall") bad(`root element is <${root.tag}>, not <methodCall>`, root);
  const name = root.children.find((c) => c.tag === "methodName");
  if (!name) bad("<methodCall> has no <methodName>", root);
  const methodName = text(name).trim();
  if (!/^[A-Za-z0-9_.:/]+$/.test(methodName)) bad(`method name "${methodName}" is not valid`, name);
  for (const c of root.children) {
    if (c.tag !== "methodName" && c.tag !== "params") bad(`unexpected <${c.tag}> in <methodCall>`, c);
  }
  return { methodName, params: parseParams(root.children.find((c) => c.tag === "params")) };
}

export function parseMethodResponse(body: string, limits: CodecLimits = {}): MethodResponse {
  const root = parseXml(body, { source: "methodResponse", maxBytes: limits.maxBytes, keepBlankText: true });
  if (root.tag !== "methodResponse") bad(`root element is <${root.tag}>, not <methodResponse>`, root);
  const c = onlyChild(root);
  if (c.tag === "fault") {
    const v = parseValue(onlyChild(c, "value"));
    if (typeof v !== "object" || v === null || Array.isArray(v)) bad("<fault> must hold a struct", c);
    const s = v as { [k: string]: XmlRpcValue };
    const code = s.faultCode;
    const str = s.faultString;
    if (typeof code !== "number" || typeof str !== "string") bad("<fault> struct needs int faultCode and string faultString", c);
    return { kind: "fault", faultCode: code, faultString: str };
  }
  if (c.tag !== "params") bad(`<methodResponse> holds <${c.tag}>, not <params> or <fault>`, c);
  const params = parseParams(c);
  if (params.length !== 1) bad(`<methodResponse> must hold exactly one param, found ${params.length}`, c);
  return { kind: "result", value: params[0] };
}
