// The generic XML element tree every Bcfg2 document is made of: safe parsing and
// byte-stable serialization (attribute order kept, escaping as lxml does it).
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { ProtocolError } from "./errors.js";

export type Attrs = Record<string, string>;

export interface XmlElement {
  tag: string;
  /** Insertion order is meaningful: Bcfg2 emits attributes in the order they were set. */
  attrs: Attrs;
  children: XmlElement[];
  /** Character data directly inside the element (before the first child). */
  text?: string;
  /** Character data after this element, inside its parent (lxml's tail). */
  tail?: string;
  /** 1-based line of the start tag in the parsed source, for error messages. */
  line?: number;
}

export interface ParseOptions {
  /** Used in error messages: a file path or a logical name such as "RecvStats". */
  source?: string;
  /** Refuse documents larger than this many bytes (default 64 MiB). */
  maxBytes?: number;
  /** Keep whitespace-only text nodes (default false: they are dropped like lxml's remove_blank_text). */
  keepBlankText?: boolean;
}

const DEFAULT_MAX = 64 * 1024 * 1024;

export function el(tag: string, attrs: Attrs = {}, children: XmlElement[] = [], text?: string): XmlElement {
  const e: XmlElement = { tag, attrs: { ...attrs }, children };
  if (text !== undefined) e.text = text;
  return e;
}

/** Line numbers by offset: line starts found once per document, then a binary search per element. */
function lineIndex(src: string): (index: number) => number {
  const starts = [0];
  for (let i = src.indexOf("\n"); i !== -1; i = src.indexOf("\n", i + 1)) starts.push(i + 1);
  return (index) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** Parses one XML document into an element tree. DOCTYPE and entity declarations are refused. */
export function parseXml(src: string, opts: ParseOptions = {}): XmlElement {
  const source = opts.source ?? "document";
  const max = opts.maxBytes ?? DEFAULT_MAX;
  if (Buffer.byteLength(src, "utf8") > max) {
    throw new ProtocolError("XML_TOO_LARGE", `${source}: document exceeds ${max} bytes`);
  }
  const dt = /<!DOCTYPE|<!ENTITY/i.exec(src);
  if (dt) {
    throw new ProtocolError("XML_DOCTYPE", `${source}:${lineIndex(src)(dt.index)}: DOCTYPE and entity declarations are not allowed`);
  }
  const valid = XMLValidator.validate(src, { allowBooleanAttributes: false });
  if (valid !== true) {
    throw new ProtocolError("XML_MALFORMED", `${source}:${valid.err.line}: ${valid.err.msg}`);
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: "",
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    // Entities are decoded by decodeEntities below: the parser leaves character references alone.
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    commentPropName: "#comment",
    cdataPropName: "#cdata",
    captureMetaData: true,
    maxNestedTags: 256,
  });
  let roots: XmlElement[];
  try {
    const raw = parser.parse(src) as unknown[];
    const meta = XMLParser.getMetaDataSymbol() as unknown as symbol;
    roots = convertList(raw, lineIndex(src), meta, opts.keepBlankText ?? false);
  } catch (err) {
    throw new ProtocolError("XML_MALFORMED", `${source}: ${(err as Error).message}`);
  }
  if (roots.length !== 1) {
    throw new ProtocolError("XML_MALFORMED", `${source}: expected exactly one root element, found ${roots.length}`);
  }
  return roots[0];
}

type RawNode = Record<string, unknown>;

const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Decodes the five predefined entities and character references; anything else is an error. */
export function decodeEntities(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z][\w.-]*);?/g, (m, ref: string) => {
    if (!m.endsWith(";")) throw new ProtocolError("XML_MALFORMED", `unterminated entity reference "${m}"`);
    if (ref[0] === "#") {
      const cp = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      const legal = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
      if (!legal) {
        throw new ProtocolError("XML_MALFORMED", `character reference "${m}" is not a legal XML character`);
      }
      return String.fromCodePoint(cp);
    }
    const v = NAMED[ref];
    if (v === undefined) throw new ProtocolError("XML_MALFORMED", `undefined entity "${m}"`);
    return v;
  });
}

function convertList(nodes: unknown[], lineAt: (index: number) => number, meta: symbol, keepBlank: boolean): XmlElement[] {
  const out: XmlElement[] = [];
  let pendingText = "";
  const flushInto = (target: XmlElement | undefined, parentText: { text: string }) => {
    if (!pendingText) return;
    if (target) target.tail = (target.tail ?? "") + pendingText;
    else parentText.text += pendingText;
    pendingText = "";
  };
  const lead = { text: "" };
  for (const n of nodes as RawNode[]) {
    if ("#text" in n) {
      pendingText += decodeEntities(String(n["#text"]));
      continue;
    }
    if ("#cdata" in n) {
      const parts = n["#cdata"] as RawNode[];
      for (const p of parts) pendingText += String(p["#text"] ?? "");
      continue;
    }
    if ("#comment" in n) continue;
    const tag = Object.keys(n).find((k) => k !== ":@");
    if (!tag) continue;
    flushInto(out[out.length - 1], lead);
    const attrs: Attrs = {};
    const rawAttrs = (n[":@"] ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(rawAttrs)) attrs[k] = decodeEntities(String(v));
    const inner = convertList((n[tag] as unknown[]) ?? [], lineAt, meta, keepBlank);
    const e: XmlElement = { tag, attrs, children: inner };
    const leadText = (inner as XmlElement[] & { leadText?: string }).leadText;
    if (leadText !== undefined && (keepBlank || leadText.trim() !== "")) e.text = leadText;
    const md = (n as Record<symbol, { startIndex?: number }>)[meta];
    if (md?.startIndex !== undefined) e.line = lineAt(md.startIndex);
    out.push(e);
  }
  flushInto(out[out.length - 1], lead);
  if (!keepBlank) {
    for (const e of out) if (e.tail !== undefined && e.tail.trim() === "") delete e.tail;
  }
  (out as XmlElement[] & { leadText?: string }).leadText = lead.text || undefined;
  return out;
}

export function escapeText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;");
}

export function escapeAttr(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/\n/g, "&#10;")
    .replace(/\r/g, "&#13;")
    .replace(/\t/g, "&#9;");
}

export interface SerializeOptions {
  /** Indent nested elements (for humans: `vacfg info`). Text content is never re-indented. */
  pretty?: boolean;
  /** Prepend an XML declaration. */
  declaration?: boolean;
}

/** Serializes a tree the way lxml's tostring does: empty elements self-close, attributes in order. */
export function serializeXml(root: XmlElement, opts: SerializeOptions = {}): string {
  const parts: string[] = [];
  if (opts.declaration) parts.push('<?xml version="1.0" encoding="UTF-8"?>\n');
  write(root, parts, opts.pretty ? 0 : -1);
  return parts.join("");
}

function write(e: XmlElement, out: string[], depth: number): void {
  out.push("<", e.tag);
  for (const [k, v] of Object.entries(e.attrs)) out.push(" ", k, '="', escapeAttr(v), '"');
  const hasText = e.text !== undefined && e.text !== "";
  if (!hasText && e.children.length === 0) {
    out.push("/>");
  } else {
    out.push(">");
    if (hasText) out.push(escapeText(e.text!));
    const indentKids = depth >= 0 && !hasText;
    for (const c of e.children) {
      if (indentKids) out.push("\n", "  ".repeat(depth + 1));
      write(c, out, depth >= 0 ? depth + 1 : -1);
    }
    if (indentKids && e.children.length > 0) out.push("\n", "  ".repeat(depth));
    out.push("</", e.tag, ">");
  }
  if (e.tail) out.push(escapeText(e.tail));
}

/** Deep copy, so a cached tree can be handed out and changed by one client run. */
export function cloneElement(e: XmlElement): XmlElement {
  const c: XmlElement = { tag: e.tag, attrs: { ...e.attrs }, children: e.children.map(cloneElement) };
  if (e.text !== undefined) c.text = e.text;
  if (e.tail !== undefined) c.tail = e.tail;
  if (e.line !== undefined) c.line = e.line;
  return c;
}

/** Direct children with this tag. */
export function childrenNamed(e: XmlElement, tag: string): XmlElement[] {
  return e.children.filter((c) => c.tag === tag);
}

/** All descendants (depth first, document order) with this tag. */
export function descendants(e: XmlElement, tag?: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (n: XmlElement) => {
    for (const c of n.children) {
      if (!tag || c.tag === tag) out.push(c);
      walk(c);
    }
  };
  walk(e);
  return out;
}
