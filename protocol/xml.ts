// The generic XML element tree every Bcfg2 document is made of: safe parsing and
// byte-stable serialization (attribute order kept, escaping as lxml does it).
import { SaxesParser } from "saxes";
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
  /** Refuse documents with more elements than this (default 1,000,000): bounds the tree a document can build. */
  maxElements?: number;
  /** Refuse elements nested deeper than this (default 256). */
  maxDepth?: number;
}

const DEFAULT_MAX = 64 * 1024 * 1024;
const DEFAULT_MAX_ELEMENTS = 1_000_000;
const DEFAULT_MAX_DEPTH = 256;
const FLATTEN_FROM = 64 * 1024;
/** parseXml feeds a document in slices of this many characters, so the flattening above runs within it. */
const SLICE = 64 * 1024;

export function el(tag: string, attrs: Attrs = {}, children: XmlElement[] = [], text?: string): XmlElement {
  const e: XmlElement = { tag, attrs: { ...attrs }, children };
  if (text !== undefined) e.text = text;
  return e;
}

/**
 * A streaming XML 1.0 parser (saxes, which refuses what expat refuses: characters XML forbids,
 * undefined entities, malformed markup) that builds the element tree as text arrives, so a
 * hostile document is refused at its limit without being held or expanded. DOCTYPE is refused.
 */
export class XmlTreeParser {
  private readonly sax: SaxesParser;
  private readonly source: string;
  private readonly stack: XmlElement[] = [];
  private root: XmlElement | undefined;
  private pending = "";
  private elements = 0;
  private startLine = 1;
  private flattenedAt = 0;

  constructor(private readonly opts: ParseOptions = {}) {
    this.source = opts.source ?? "document";
    const maxElements = opts.maxElements ?? DEFAULT_MAX_ELEMENTS;
    const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
    const sax = new SaxesParser({ xmlns: false, position: true });
    this.sax = sax;
    sax.on("doctype", (body) => {
      // Reported at its end: the line it starts on is that minus the lines it spans.
      const line = sax.line - (body.match(/\n/g)?.length ?? 0);
      throw new ProtocolError("XML_DOCTYPE", `${this.source}:${line}: DOCTYPE and entity declarations are not allowed`);
    });
    sax.on("opentagstart", () => {
      this.startLine = sax.line;
    });
    sax.on("opentag", (node) => {
      if (++this.elements > maxElements) {
        throw new ProtocolError("XML_TOO_LARGE", `${this.source}:${sax.line}: more than ${maxElements} elements`);
      }
      if (this.stack.length >= maxDepth) {
        throw new ProtocolError("XML_TOO_LARGE", `${this.source}:${sax.line}: elements nested deeper than ${maxDepth}`);
      }
      const parent = this.stack[this.stack.length - 1];
      this.flush(parent);
      const e: XmlElement = { tag: node.name, attrs: { ...(node.attributes as Attrs) }, children: [], line: this.startLine };
      if (parent) parent.children.push(e);
      else this.root = e;
      this.stack.push(e);
    });
    sax.on("text", (t) => {
      // Text outside the root element can only be whitespace (saxes refuses anything else).
      if (this.stack.length) this.pending += t;
    });
    sax.on("cdata", (t) => {
      this.pending += t;
    });
    sax.on("closetag", () => {
      const e = this.stack.pop()!;
      this.flush(e);
    });
  }

  /** Pending character data goes to the last child's tail, or to the element's own text before any child. */
  private flush(into: XmlElement | undefined): void {
    if (!this.pending || !into) return;
    const blank = !this.opts.keepBlankText && this.pending.trim() === "";
    const last = into.children[into.children.length - 1];
    if (!blank) {
      this.pending.charCodeAt(0); // flat, see write()
      if (last) last.tail = (last.tail ?? "") + this.pending;
      else into.text = (into.text ?? "") + this.pending;
    }
    this.pending = "";
  }

  write(chunk: string): this {
    this.run(() => this.sax.write(chunk));
    // saxes appends each entity reference and line break to its text buffer one by one; V8 keeps
    // such a string as a tree of pieces (about 32 bytes a piece: 16 times the text for "&lt;").
    // Reading a character flattens it in place; doing so each time the buffer doubles keeps both
    // the trees and the copies within a few times the text.
    const buffer = this.sax as unknown as { text: string };
    const n = buffer.text.length;
    if (n < this.flattenedAt) this.flattenedAt = 0;
    if (n >= FLATTEN_FROM && n >= 2 * this.flattenedAt) {
      buffer.text.charCodeAt(0);
      this.flattenedAt = n;
    }
    return this;
  }

  /** Ends the document and returns its root element. */
  end(): XmlElement {
    this.run(() => this.sax.close());
    if (!this.root) throw new ProtocolError("XML_MALFORMED", `${this.source}: expected exactly one root element, found 0`);
    return this.root;
  }

  private run(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      // saxes words its errors "LINE:COLUMN: message."; ours are "source:LINE: message".
      const m = /^(\d+):\d+: (.*?)\.?$/s.exec((err as Error).message);
      throw new ProtocolError("XML_MALFORMED", m ? `${this.source}:${m[1]}: ${m[2]}` : `${this.source}: ${(err as Error).message}`);
    }
  }
}

/** Parses one XML document into an element tree. DOCTYPE and entity declarations are refused. */
export function parseXml(src: string, opts: ParseOptions = {}): XmlElement {
  const max = opts.maxBytes ?? DEFAULT_MAX;
  if (Buffer.byteLength(src, "utf8") > max) {
    throw new ProtocolError("XML_TOO_LARGE", `${opts.source ?? "document"}: document exceeds ${max} bytes`);
  }
  const parser = new XmlTreeParser(opts);
  for (let i = 0; i < src.length; ) {
    let end = Math.min(i + SLICE, src.length);
    // Never between a surrogate pair or a CR LF.
    const last = src.charCodeAt(end - 1);
    if (end < src.length && ((last >= 0xd800 && last <= 0xdbff) || last === 13)) end--;
    parser.write(src.slice(i, end));
    i = end;
  }
  return parser.end();
}

const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** The characters XML 1.0 allows (Char production); anything else can be neither sent nor parsed. */
export const XML_FORBIDDEN = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Decodes the five predefined entities and character references; anything else is an error. */
export function decodeEntities(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z][\w.-]*);?/g, (m, ref: string) => {
    if (!m.endsWith(";")) throw new ProtocolError("XML_MALFORMED", `unterminated entity reference "${m}"`);
    if (ref[0] === "#") {
      const cp = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (cp > 0x10ffff || XML_FORBIDDEN.test(String.fromCodePoint(cp))) {
        throw new ProtocolError("XML_MALFORMED", `character reference "${m}" is not a legal XML character`);
      }
      return String.fromCodePoint(cp);
    }
    const v = NAMED[ref];
    if (v === undefined) throw new ProtocolError("XML_MALFORMED", `undefined entity "${m}"`);
    return v;
  });
}

export function escapeText(s: string): string {
  // Most text has nothing to escape: no copies. Four indexOf scans beat one regex test over the
  // kilobytes of a key or file (every GetConfig answer's text goes through here).
  if (s.indexOf("&") < 0 && s.indexOf("<") < 0 && s.indexOf(">") < 0 && s.indexOf("\r") < 0) return s;
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;");
}

/** Whether an attribute value holds a character escapeAttr replaces (a loop: values are short, and there are hundreds per answer). */
function attrNeedsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // & < > " \n \r \t
    if (c === 38 || c === 60 || c === 62 || c === 34 || c === 10 || c === 13 || c === 9) return true;
  }
  return false;
}

export function escapeAttr(s: string): string {
  // A value that is not a string (a plugin's slip) is written as its text, as concatenation wrote it.
  if (typeof s !== "string") s = String(s);
  if (!attrNeedsEscape(s)) return s;
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
  count = 0;
  if (opts.declaration) put('<?xml version="1.0" encoding="UTF-8"?>\n');
  try {
    write(root, opts.pretty ? 0 : -1);
    // Cut only when shorter than the last document (a cut may shrink the array's store).
    if (pieces.length !== count) pieces.length = count;
    return pieces.join("");
  } finally {
    // The last document's pieces stay until overwritten, unless there were many (a large answer).
    if (count > MAX_KEPT_PIECES) pieces = [];
    count = 0;
  }
}

/**
 * The document being written, as its pieces, joined once at the end: one flat string instead of a
 * string object per `+` (hundreds per GetConfig answer). One array, reused: writing is synchronous.
 */
let pieces: string[] = [];
let count = 0;
const MAX_KEPT_PIECES = 8192;
function put(s: string): void {
  pieces[count++] = s;
}

/**
 * The fixed pieces around tag and attribute names ("<tag", "</tag>", ` name="`, `" name="`), made once per name.
 * Bounded: names also come from documents clients send.
 */
const OPENS = new Map<string, string>();
const CLOSES = new Map<string, string>();
const ATTRS = new Map<string, string>();
const NEXT_ATTRS = new Map<string, string>();
function piece(made: Map<string, string>, before: string, name: string, after: string): string {
  let p = made.get(name);
  if (p === undefined) {
    p = before + name + after;
    if (made.size < 1024) made.set(name, p);
  }
  return p;
}

/** One element's pieces (the quote ending an attribute's value goes with what follows it). */
function write(e: XmlElement, depth: number): void {
  put(piece(OPENS, "<", e.tag, ""));
  const attrs = e.attrs;
  let quoted = false;
  for (const k in attrs) {
    put(quoted ? piece(NEXT_ATTRS, '" ', k, '="') : piece(ATTRS, " ", k, '="'));
    put(escapeAttr(attrs[k]!));
    quoted = true;
  }
  const hasText = e.text !== undefined && e.text !== "";
  const kids = e.children;
  if (!hasText && kids.length === 0) {
    put(quoted ? '"/>' : "/>");
  } else {
    put(quoted ? '">' : ">");
    if (hasText) put(escapeText(e.text!));
    const indentKids = depth >= 0 && !hasText;
    // An index loop: every GetConfig answer is written here, also before the JIT has optimized it.
    for (let i = 0; i < kids.length; i++) {
      if (indentKids) put("\n" + "  ".repeat(depth + 1));
      write(kids[i]!, depth >= 0 ? depth + 1 : -1);
    }
    if (indentKids && kids.length > 0) put("\n" + "  ".repeat(depth));
    put(piece(CLOSES, "</", e.tag, ">"));
  }
  if (e.tail) put(escapeText(e.tail));
}

/** Whether an element's only attribute is its name (what a bundle's `<Path name="..."/>` gives). */
export function namesOnlyItself(attrs: Attrs): boolean {
  let named = false;
  for (const k in attrs) {
    if (k !== "name") return false;
    named = true;
  }
  return named;
}

/** Deep copy, so a cached tree can be handed out and changed by one client run. */
export function cloneElement(e: XmlElement): XmlElement {
  const c: XmlElement = { tag: e.tag, attrs: { ...e.attrs }, children: e.children.map(cloneElement) };
  if (e.text !== undefined) c.text = e.text;
  if (e.tail !== undefined) c.tail = e.tail;
  if (e.line !== undefined) c.line = e.line;
  return c;
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
