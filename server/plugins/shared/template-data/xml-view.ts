// An lxml-like read-only view of an XmlElement for templates: repository templates written
// for upstream call xdata.find('Node'), .findall(), .get('name'), .text, .attrib.
import type { XmlElement } from "../../../../protocol/xml.js";

export function isXmlElement(v: unknown): v is XmlElement {
  return typeof v === "object" && v !== null && typeof (v as XmlElement).tag === "string" && Array.isArray((v as XmlElement).children);
}

type Step = { axis: "child" | "descendant"; test: string; attr?: { name: string; value?: string } };

/** ElementPath subset: tag, *, ., .., a/b, .//a, //a, a[@k], a[@k='v']. */
function compilePath(path: string): Step[] {
  const steps: Step[] = [];
  let p = path.trim();
  if (p.startsWith("/")) p = "." + p; // lxml refuses absolute paths on elements; treat as relative
  const parts = p.split("/");
  let axis: Step["axis"] = "child";
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === "") {
      axis = "descendant";
      continue;
    }
    if (part === "." && i === 0) continue;
    const m = /^([\w.:*-]+|\.)(?:\[@([\w:.-]+)(?:\s*=\s*(['"])(.*?)\3)?\])?$/.exec(part);
    if (!m) throw new Error(`unsupported path expression: ${path}`);
    const step: Step = { axis, test: m[1]! };
    if (m[2]) step.attr = m[4] !== undefined ? { name: m[2], value: m[4] } : { name: m[2] };
    steps.push(step);
    axis = "child";
  }
  return steps;
}

function stepMatches(e: XmlElement, s: Step): boolean {
  if (s.test !== "*" && s.test !== "." && e.tag !== s.test) return false;
  if (s.attr) {
    const v = e.attrs[s.attr.name];
    if (v === undefined) return false;
    if (s.attr.value !== undefined && v !== s.attr.value) return false;
  }
  return true;
}

function descendantsOf(e: XmlElement, out: XmlElement[]): void {
  for (const c of e.children) {
    out.push(c);
    descendantsOf(c, out);
  }
}

function select(root: XmlElement, path: string): XmlElement[] {
  let current = [root];
  for (const s of compilePath(path)) {
    const next: XmlElement[] = [];
    for (const e of current) {
      if (s.test === "." && s.axis === "child") {
        if (stepMatches(e, s)) next.push(e);
        continue;
      }
      const pool: XmlElement[] = [];
      if (s.axis === "descendant") descendantsOf(e, pool);
      else pool.push(...e.children);
      for (const c of pool) if (stepMatches(c, s) && !next.includes(c)) next.push(c);
    }
    current = next;
  }
  return current;
}

/** Views are cached per element so identity (and `==`) holds across lookups. */
const views = new WeakMap<XmlElement, XmlView>();

export function xmlView(e: XmlElement): XmlView {
  let v = views.get(e);
  if (!v) {
    v = new XmlView(e);
    views.set(e, v);
  }
  return v;
}

export class XmlView {
  readonly tag: string;
  readonly text: string | null;
  readonly tail: string | null;
  readonly attrib: Record<string, string>;
  constructor(private readonly element: XmlElement) {
    this.tag = element.tag;
    this.text = element.text ?? null;
    this.tail = element.tail ?? null;
    this.attrib = { ...element.attrs };
  }
  get(name: string, dflt: unknown = null): unknown {
    return Object.prototype.hasOwnProperty.call(this.element.attrs, name) ? this.element.attrs[name] : dflt;
  }
  keys(): string[] {
    return Object.keys(this.element.attrs);
  }
  items(): Array<[string, string]> {
    return Object.entries(this.element.attrs);
  }
  find(path: string): XmlView | null {
    const r = select(this.element, path)[0];
    return r ? xmlView(r) : null;
  }
  findall(path: string): XmlView[] {
    return select(this.element, path).map(xmlView);
  }
  findtext(path: string, dflt: unknown = null): unknown {
    const r = select(this.element, path)[0];
    return r ? (r.text ?? "") : dflt;
  }
  getchildren(): XmlView[] {
    return this.element.children.map(xmlView);
  }
  iter(tag?: string): XmlView[] {
    const all: XmlElement[] = [this.element];
    descendantsOf(this.element, all);
    return all.filter((e) => tag === undefined || tag === null || tag === "*" || e.tag === tag).map(xmlView);
  }
  /** Only the ElementPath subset that find() supports. */
  xpath(path: string): XmlView[] {
    return this.findall(path);
  }
  get length(): number {
    return this.element.children.length;
  }
  toString(): string {
    return `<Element ${this.tag}>`;
  }
}
