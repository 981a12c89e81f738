// Repository and probe XML (Properties xdata, probe .xdata, XMLMatch results) as lxml elements, the
// way Bcfg2 hands them to templates: find/findall/findtext/iterfind (lxml's ElementPath: tag, *,
// ., .., //, [@a], [@a='v'], [tag], [tag='v'], [n], [last()]), xpath() (XPath 1.0 by the `xpath`
// package over an @xmldom/xmldom document), get, text, tail, attrib, tag, len(), getparent(),
// iterchildren(), iteration, keys(), items(). Values print and compare as lxml's do.
import { DOMImplementation, type Attr, type Element as DomElement, type Node as DomNode } from "@xmldom/xmldom";
import xpath from "xpath";
import type { XmlElement } from "../../../../protocol/xml.js";
import { PY_REPR, PY_STR, PY_TYPE } from "../../../templates/python/host-objects.js";
import { PyException, PyFloat, PyTuple, toTuple } from "../../../templates/python/values.js";


/** The `xpath` package types its arguments with the browser DOM; xmldom's nodes are what it reads. */
function select(expr: string, n: DomNode): unknown {
  return xpath.select(expr, n as unknown as Node);
}

export function isXmlElement(v: unknown): v is XmlElement {
  return typeof v === "object" && v !== null && typeof (v as XmlElement).tag === "string" && Array.isArray((v as XmlElement).children);
}

const documents = new WeakMap<XmlElement, DomElement>();
const views = new WeakMap<DomNode, XmlView>();

/** The DOM of a parsed tree, built once per tree (trees are immutable once parsed or matched). */
function domOf(root: XmlElement): DomElement {
  let d = documents.get(root);
  if (!d) {
    const doc = new DOMImplementation().createDocument(null, "", null);
    const build = (e: XmlElement): DomElement => {
      const n = doc.createElement(e.tag);
      for (const [k, v] of Object.entries(e.attrs)) n.setAttribute(k, v);
      if (e.text) n.appendChild(doc.createTextNode(e.text));
      for (const c of e.children) {
        n.appendChild(build(c));
        if (c.tail) n.appendChild(doc.createTextNode(c.tail));
      }
      return n;
    };
    d = build(root);
    doc.appendChild(d);
    documents.set(root, d);
  }
  return d;
}

/** The lxml-like view of a parsed XML tree's root. */
export function xmlView(root: XmlElement): XmlView {
  return viewOf(domOf(root));
}

function viewOf(n: DomElement): XmlView {
  let v = views.get(n);
  if (!v) {
    v = new XmlView(n);
    views.set(n, v);
  }
  return v;
}

function childElements(n: DomNode): DomElement[] {
  const out: DomElement[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) out.push(c as DomElement);
  return out;
}

/** lxml's .text: the text before the first child element, None when there is none. */
function leadingText(n: DomNode): string | null {
  let s: string | null = null;
  for (let c = n.firstChild; c && c.nodeType !== 1; c = c.nextSibling) if (c.nodeType === 3 || c.nodeType === 4) s = (s ?? "") + (c.nodeValue ?? "");
  return s;
}

function trailingText(n: DomNode): string | null {
  let s: string | null = null;
  for (let c = n.nextSibling; c && c.nodeType !== 1; c = c.nextSibling) if (c.nodeType === 3 || c.nodeType === 4) s = (s ?? "") + (c.nodeValue ?? "");
  return s;
}

// ---------------------------------------------------------------- ElementPath

const STEP = String.raw`(?:\*|\.\.|\.|[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)`;
const PRED = String.raw`\[(?:@[A-Za-z_][\w.:-]*(?:\s*=\s*(?:'[^']*'|"[^"]*"))?|[A-Za-z_][\w.:-]*(?:\s*=\s*(?:'[^']*'|"[^"]*"))?|\.\s*=\s*(?:'[^']*'|"[^"]*")|\d+|last\(\)(?:\s*-\s*\d+)?)\]`;
const ELEMENT_PATH = new RegExp(String.raw`^(?:\.//|//)?${STEP}(?:${PRED})*(?:/{1,2}${STEP}(?:${PRED})*)*/?$`);

/**
 * lxml's ElementPath on an element, as the XPath it means: a path relative to the element. What
 * ElementPath refuses (absolute paths, functions other than last()) is a SyntaxError, as in lxml.
 */
function elementPath(path: string): string {
  const p = path.trim();
  if (p.startsWith("/")) throw new PyException("SyntaxError", "cannot use absolute path on element");
  if (!ELEMENT_PATH.test(p)) throw new PyException("SyntaxError", `invalid path for find/findall (ElementPath): ${JSON.stringify(path)}`);
  // "a/" means "a/*" in ElementPath.
  const q = p.endsWith("/") ? `${p}*` : p;
  return q.startsWith(".") ? q : `./${q}`;
}

// ---------------------------------------------------------------- values

/** An attribute value or text returned by xpath(): a str (lxml's _ElementUnicodeResult). */
function xpathResult(v: unknown): unknown {
  if (typeof v === "number") return new PyFloat(v);
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (Array.isArray(v)) {
    return (v as DomNode[]).map((n) => {
      if (n.nodeType === 1) return viewOf(n as DomElement);
      if (n.nodeType === 2) return (n as Attr).value;
      return n.nodeValue ?? "";
    });
  }
  return v;
}

/** Python repr of a str, for dict-like printing. */
function strRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  return q + s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(new RegExp(q, "g"), `\\${q}`) + q;
}

/** lxml's _Attrib: a live dict-like view of an element's attributes. */
export class AttribView {
  constructor(private readonly n: DomElement) {}
  private pairs(): Array<[string, string]> {
    return Array.from(this.n.attributes).map((a) => [a.name, a.value]);
  }
  get(key: unknown, dflt: unknown = null): unknown {
    const k = String(key);
    return this.n.hasAttribute(k) ? this.n.getAttribute(k) : dflt;
  }
  keys(): string[] {
    return this.pairs().map(([k]) => k);
  }
  values(): string[] {
    return this.pairs().map(([, v]) => v);
  }
  items(): PyTuple[] {
    return this.pairs().map((p) => toTuple(p));
  }
  has_key(key: unknown): boolean {
    return this.n.hasAttribute(String(key));
  }
  __getitem__(key: unknown): unknown {
    if (!this.n.hasAttribute(String(key))) throw new PyException("KeyError", strRepr(String(key)));
    return this.n.getAttribute(String(key));
  }
  __contains__(key: unknown): boolean {
    return this.n.hasAttribute(String(key));
  }
  get length(): number {
    return this.n.attributes.length;
  }
  [Symbol.iterator](): Iterator<string> {
    return this.keys()[Symbol.iterator]();
  }
  [PY_STR](): string {
    return `{${this.pairs().map(([k, v]) => `${strRepr(k)}: ${strRepr(v)}`).join(", ")}}`;
  }
  [PY_TYPE](): string {
    return "lxml.etree._Attrib";
  }
}

let serial = 0x7f0000000000;

export class XmlView {
  readonly #n: DomElement;
  readonly #id = (serial += 0x50).toString(16);
  constructor(n: DomElement) {
    this.#n = n;
  }
  get tag(): string {
    return this.#n.tagName;
  }
  get text(): string | null {
    return leadingText(this.#n);
  }
  get tail(): string | null {
    return trailingText(this.#n);
  }
  get attrib(): AttribView {
    return new AttribView(this.#n);
  }
  get(name: unknown, dflt: unknown = null): unknown {
    return this.attrib.get(name, dflt);
  }
  keys(): string[] {
    return this.attrib.keys();
  }
  values(): string[] {
    return this.attrib.values();
  }
  items(): PyTuple[] {
    return this.attrib.items();
  }
  private select(path: unknown): XmlView[] {
    return (select(elementPath(String(path)), this.#n) as DomElement[]).filter((n) => n.nodeType === 1).map(viewOf);
  }
  find(path: unknown): XmlView | null {
    return this.select(path)[0] ?? null;
  }
  findall(path: unknown): XmlView[] {
    return this.select(path);
  }
  iterfind(path: unknown): XmlView[] {
    return this.select(path);
  }
  findtext(path: unknown, dflt: unknown = null): unknown {
    const e = this.select(path)[0];
    return e ? (e.text ?? "") : dflt;
  }
  /** This element and its descendants in document order, optionally only those with these tags. */
  iter(...tags: unknown[]): XmlView[] {
    const want = tags.filter((t) => t !== null && t !== undefined && t !== "*").map(String);
    const out: XmlView[] = [];
    const walk = (n: DomElement) => {
      if (want.length === 0 || want.includes(n.tagName)) out.push(viewOf(n));
      for (const c of childElements(n)) walk(c);
    };
    walk(this.#n);
    return out;
  }
  getiterator(...tags: unknown[]): XmlView[] {
    return this.iter(...tags);
  }
  iterchildren(tag?: unknown): XmlView[] {
    return childElements(this.#n).filter((c) => tag === undefined || tag === null || c.tagName === tag).map(viewOf);
  }
  getchildren(): XmlView[] {
    return this.iterchildren();
  }
  iterancestors(): XmlView[] {
    const out: XmlView[] = [];
    for (let p = this.#n.parentNode; p && p.nodeType === 1; p = p.parentNode) out.push(viewOf(p as DomElement));
    return out;
  }
  getparent(): XmlView | null {
    const p = this.#n.parentNode;
    return p && p.nodeType === 1 ? viewOf(p as DomElement) : null;
  }
  getnext(): XmlView | null {
    for (let c = this.#n.nextSibling; c; c = c.nextSibling) if (c.nodeType === 1) return viewOf(c as DomElement);
    return null;
  }
  getprevious(): XmlView | null {
    for (let c = this.#n.previousSibling; c; c = c.previousSibling) if (c.nodeType === 1) return viewOf(c as DomElement);
    return null;
  }
  /** XPath 1.0; results as lxml returns them (elements, str, float, bool). */
  xpath(expr: unknown, ...rest: unknown[]): unknown {
    if (rest.length) throw new PyException("TypeError", "xpath() variables and namespaces are not supported");
    try {
      return xpathResult(select(String(expr), this.#n));
    } catch (e) {
      if (e instanceof PyException) throw e;
      throw new PyException("XPathEvalError", `${(e as Error).message} in ${JSON.stringify(String(expr))}`);
    }
  }
  get length(): number {
    return childElements(this.#n).length;
  }
  [Symbol.iterator](): Iterator<XmlView> {
    return this.getchildren()[Symbol.iterator]();
  }
  __getitem__(i: unknown): unknown {
    const kids = this.getchildren();
    if (typeof i !== "number") throw new PyException("TypeError", "element indices must be integers");
    const k = i < 0 ? kids.length + i : i;
    if (k < 0 || k >= kids.length) throw new PyException("IndexError", "list index out of range");
    return kids[k];
  }
  [PY_STR](): string {
    return `<Element ${this.tag} at 0x${this.#id}>`;
  }
  [PY_REPR](): string {
    return this[PY_STR]();
  }
  [PY_TYPE](): string {
    return "lxml.etree._Element";
  }
  toString(): string {
    return this[PY_STR]();
  }
}
