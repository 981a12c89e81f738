// Bytes to XML-RPC messages. Strict about structure, lenient about whitespace, never expands
// entities (DOCTYPE is refused), and bounded: a message is parsed as it streams in, under a
// byte, element and depth limit, so a hostile body costs at most about its own size.
import { ProtocolError } from "../errors.js";
import { decodeEntities, XML_FORBIDDEN, XmlTreeParser, type XmlElement } from "../xml.js";
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
  // Python's int(): digits with single underscores between them.
  if (!/^[+-]?\d+(?:_\d+)*$/.test(t)) bad(`<${e.tag}> holds "${t}", not an integer`, e);
  const n = Number(t.replace(/_/g, ""));
  if (!Number.isSafeInteger(n)) bad(`<${e.tag}> value ${t} is out of range`, e);
  return n;
}

const FLOAT = /^[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?$/;
const FLOAT_SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

/** Python's float(): decimal and exponent forms, underscores between digits, inf/infinity/nan. */
function parsePythonFloat(s: string, e: XmlElement): number {
  const t = s.trim();
  const special = FLOAT_SPECIAL.exec(t);
  if (special) return special[2].toLowerCase() === "nan" ? NaN : special[1] === "-" ? -Infinity : Infinity;
  if (!FLOAT.test(t)) bad(`<double> holds "${t}", not a number`, e);
  return Number(t.replace(/_/g, ""));
}

function parseDateTime(s: string, e: XmlElement): Date {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s.trim());
  if (!m) bad(`<dateTime.iso8601> holds "${s.trim()}", not an ISO 8601 time`, e);
  const [, y, mo, d, h, mi, se] = m;
  // Not Date.UTC: it would read years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(+y, +mo - 1, +d);
  date.setUTCHours(+h, +mi, +se, 0);
  return date;
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
    case "double":
      return new XmlRpcDouble(parsePythonFloat(text(t), t));
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
  /** Largest message in bytes (default 64 MiB). */
  maxBytes?: number;
  /** Most elements in one message (default 100,000): arrays and structs cannot build a huge tree. */
  maxElements?: number;
  /** Deepest nesting (default 64). */
  maxDepth?: number;
}

export const DEFAULT_CODEC_LIMITS = { maxBytes: 64 * 1024 * 1024, maxElements: 100_000, maxDepth: 64 } as const;

/**
 * Reads one XML-RPC message as its bytes arrive (UTF-8, decoded strictly), refusing it as soon as
 * it passes a limit; `end()` returns the root element.
 */
export class XmlRpcReader {
  private readonly tree: XmlTreeParser;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });
  private readonly maxBytes: number;
  private bytes = 0;

  constructor(source: string, limits: CodecLimits = {}) {
    this.maxBytes = limits.maxBytes ?? DEFAULT_CODEC_LIMITS.maxBytes;
    this.tree = new XmlTreeParser({
      source,
      keepBlankText: true,
      maxElements: limits.maxElements ?? DEFAULT_CODEC_LIMITS.maxElements,
      maxDepth: limits.maxDepth ?? DEFAULT_CODEC_LIMITS.maxDepth,
    });
  }

  write(chunk: Buffer | string): this {
    this.bytes += typeof chunk === "string" ? Buffer.byteLength(chunk, "utf8") : chunk.length;
    if (this.bytes > this.maxBytes) throw new ProtocolError("XML_TOO_LARGE", `message exceeds ${this.maxBytes} bytes`);
    this.tree.write(typeof chunk === "string" ? chunk : this.decode(chunk, true));
    return this;
  }

  end(): XmlElement {
    this.tree.write(this.decode(new Uint8Array(0), false));
    return this.tree.end();
  }

  private decode(chunk: Uint8Array, stream: boolean): string {
    try {
      return this.decoder.decode(chunk, { stream });
    } catch {
      throw new ProtocolError("XML_MALFORMED", "message is not valid UTF-8");
    }
  }
}

/** The methodCall in an already-parsed <methodCall> element. */
export function methodCallOf(root: XmlElement): MethodCall {
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

export function parseMethodCall(body: string, limits: CodecLimits = {}): MethodCall {
  return methodCallOf(new XmlRpcReader("methodCall", limits).write(body).end());
}

// A response of one string in the form Python's xmlrpc.client (upstream's server) and vacfg's
// serializer write it (optional encoding declaration, XML whitespace between the elements).
const STRING_RESPONSE =
  /^<\?xml version=(["'])1\.0\1(?: encoding=(["'])(?:utf-8|UTF-8)\2)?\?>[ \t\r\n]*<methodResponse>[ \t\r\n]*<params>[ \t\r\n]*<param>[ \t\r\n]*<value>(?:<string>([^<]*)<\/string>|([^<]*))<\/value>[ \t\r\n]*<\/param>[ \t\r\n]*<\/params>[ \t\r\n]*<\/methodResponse>[ \t\r\n]*$/;
/** What in a text the parser rewrites or judges besides the characters XML forbids: CR (XML reads it as LF), "]]>", references but the five named ones. */
const NOT_PLAIN_TEXT = /\r|\]\]>|&(?!(?:lt|gt|amp|quot|apos);)/;

/**
 * The value of `body` when it is a response of one string in that form, whose text needs nothing
 * but the five named entities replaced (a configuration, probes): what the parser would return,
 * without one. undefined for anything else, which the parser then reads.
 */
export function stringResponse(body: string): string | undefined {
  const m = STRING_RESPONSE.exec(body);
  const text = m?.[3] ?? m?.[4];
  if (text === undefined || NOT_PLAIN_TEXT.test(text) || XML_FORBIDDEN.test(text)) return undefined;
  return decodeEntities(text);
}

export function parseMethodResponse(body: string, limits: CodecLimits = {}): MethodResponse {
  // within every limit the parser keeps (at most 3 bytes per UTF-16 unit, 5 elements 5 deep)
  const small = body.length * 3 <= (limits.maxBytes ?? DEFAULT_CODEC_LIMITS.maxBytes) && (limits.maxElements ?? DEFAULT_CODEC_LIMITS.maxElements) >= 5 && (limits.maxDepth ?? DEFAULT_CODEC_LIMITS.maxDepth) >= 5;
  const plain = small ? stringResponse(body) : undefined;
  if (plain !== undefined) return { kind: "result", value: plain };
  const root = new XmlRpcReader("methodResponse", limits).write(body).end();
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

// A call without parameters exactly as Python's xmlrpc.client and the agent write it (optional
// encoding declaration, XML whitespace between the elements, <params/> or none at all). ASCII only.
const BARE_CALL =
  /^<\?xml version=(["'])1\.0\1(?: encoding=(["'])(?:utf-8|UTF-8)\2)?\?>[ \t\r\n]*<methodCall>[ \t\r\n]*<methodName>([A-Za-z0-9_.:/]+)<\/methodName>[ \t\r\n]*(?:<params>[ \t\r\n]*<\/params>[ \t\r\n]*|<params\/>[ \t\r\n]*)?<\/methodCall>[ \t\r\n]*$/;

/**
 * The methodCall in `bytes` when it is a parameterless call in the form clients send (GetConfig,
 * GetProbes): what `methodCallOf` would return, without a parser. undefined for anything else.
 */
export function bareMethodCall(bytes: Buffer): MethodCall | undefined {
  if (bytes.length > 512) return undefined;
  const m = BARE_CALL.exec(bytes.toString("latin1"));
  return m ? { methodName: m[3], params: [] } : undefined;
}
