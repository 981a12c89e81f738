// Genshi MarkupTemplate (Bcfg2's templated bundles and Rules): py:def, py:when, py:otherwise,
// py:for, py:if, py:choose, py:with, py:replace, py:content, py:attrs, py:strip (as attributes,
// applied in Genshi's order, or as <py:NAME> elements), <?python ?> blocks, ${…}/$name in text
// and attribute values. The result is an element tree, as lxml reads Genshi's output: comments
// dropped, whitespace kept, the py namespace declaration gone. py:match and xi:include are
// refused with file:line (Bcfg2 sites do not use them in bundles).
import { DOMParser } from "@xmldom/xmldom";
import type { XmlElement } from "../../../protocol/xml.js";
import { bindTargets, evaluate, parseForHead, Parser, tokenize, type Node, type Param, type Scope } from "../python/expr.js";
import { execute } from "../python/statements.js";
import { compileExpr, compileSuite, flattenValue, interpolate, lineCounter, suiteErrorLine, type Part, type Suite } from "./code.js";
import { Frame } from "./context.js";
import { describe, RenderError } from "./render-error.js";
import { whenMatches, type ChooseState } from "./text.js";
import { iterate, PyException, pyStr, truthy } from "../python/values.js";

export const GENSHI_NS = "http://genshi.edgewall.org/";
const XI_NS = "http://www.w3.org/2001/XInclude";

type Directive =
  | { d: "def"; name: string; params: Param[] }
  | { d: "when"; test: Node }
  | { d: "otherwise" }
  | { d: "for"; targets: string[]; it: Node }
  | { d: "if"; test: Node }
  | { d: "choose"; test?: Node }
  | { d: "with"; suite: Suite }
  | { d: "replace"; value: Node }
  | { d: "content"; value: Node }
  | { d: "attrs"; value: Node }
  | { d: "strip"; value?: Node };

/** Genshi's order of application when one element carries several directives. */
const ORDER = ["def", "match", "when", "otherwise", "for", "if", "choose", "with", "replace", "content", "attrs", "strip"];
/** The attribute that holds the argument of a directive written as an element. */
const ELEMENT_ARG: Record<string, string | undefined> = {
  def: "function", when: "test", otherwise: undefined, for: "each", if: "test", choose: "test", with: "vars",
  replace: "value", content: undefined, attrs: undefined, strip: undefined, match: "path",
};

type MNode =
  | { k: "text"; parts: Part[] }
  | { k: "python"; suite: Suite; line: number }
  | { k: "elem"; tag: string; attrs: Array<[string, Part[]]>; children: MNode[]; directives: Directive[]; implicitStrip: boolean; line: number };

/** A piece of markup a py:def returns: nodes (elements and text) not yet placed in the output. */
export class Fragment {
  constructor(readonly container: XmlElement) {}
  toString(): string {
    return textOf(this.container);
  }
}

function textOf(e: XmlElement): string {
  return (e.text ?? "") + e.children.map((c) => textOf(c) + (c.tail ?? "")).join("");
}

// ---------------------------------------------------------------- compile

interface DomNode {
  nodeType: number;
  nodeName: string;
  nodeValue: string | null;
  lineNumber?: number;
  namespaceURI?: string | null;
  localName?: string | null;
  prefix?: string | null;
  target?: string;
  data?: string;
  childNodes: ArrayLike<DomNode>;
  attributes?: ArrayLike<{ name: string; value: string; namespaceURI: string | null; localName: string; prefix: string | null }>;
}

class Compiler {
  private readonly lineOf: (offset: number) => number;
  constructor(
    private readonly file: string,
    src: string,
  ) {
    this.lineOf = lineCounter(src);
  }

  private fail(line: number, message: string): never {
    throw new RenderError(this.file, line, `TemplateSyntaxError: ${message}`);
  }

  private expr(src: string, line: number): Node {
    return compileExpr(src, this.file, line);
  }

  /** Interpolation in a text or attribute value; line numbers count from `line`. */
  private parts(text: string, line: number): Part[] {
    return interpolate(text, this.file, (o) => line + (this.lineOf(o) - 1), 0);
  }

  private directive(name: string, value: string | undefined, line: number): Directive {
    const need = (): string => {
      if (value === undefined) this.fail(line, `py:${name} needs its ${ELEMENT_ARG[name] ?? "value"} attribute`);
      return value;
    };
    try {
      switch (name) {
        case "def": {
          const p = new Parser(tokenize(need(), false));
          const n = p.next();
          if (n.t !== "name") throw new PyException("SyntaxError", "expected a function name");
          let params: Param[] = [];
          if (!p.atEnd()) {
            p.expect("(");
            params = p.params(")");
            p.expect(")");
          }
          if (!p.atEnd()) throw new PyException("SyntaxError", `unexpected "${p.peek().v}"`);
          return { d: "def", name: n.v, params };
        }
        case "when": return { d: "when", test: this.expr(need(), line) };
        case "otherwise": return { d: "otherwise" };
        case "for": {
          const h = parseForHead(need());
          return { d: "for", targets: h.targets, it: h.it };
        }
        case "if": return { d: "if", test: this.expr(need(), line) };
        case "choose": return value !== undefined && value.trim() ? { d: "choose", test: this.expr(value, line) } : { d: "choose" };
        case "with": return { d: "with", suite: compileSuite(need().replace(/;/g, "\n"), this.file, line) };
        case "replace": return { d: "replace", value: this.expr(need(), line) };
        case "content": return { d: "content", value: this.expr(need(), line) };
        case "attrs": return { d: "attrs", value: this.expr(need(), line) };
        case "strip": return value !== undefined && value.trim() ? { d: "strip", value: this.expr(value, line) } : { d: "strip" };
        case "match": return this.fail(line, "py:match is not supported");
        default: return this.fail(line, `bad directive "py:${name}"`);
      }
    } catch (e) {
      if (e instanceof RenderError) throw e;
      return this.fail(line, (e as Error).message);
    }
  }

  node(n: DomNode): MNode | undefined {
    const line = n.lineNumber ?? 1;
    switch (n.nodeType) {
      case 3: // text
      case 4: // CDATA
        return { k: "text", parts: n.nodeType === 4 ? [n.nodeValue ?? ""] : this.parts(n.nodeValue ?? "", line) };
      case 7: // processing instruction
        if (n.nodeName === "python") return { k: "python", suite: compileSuite(n.nodeValue ?? "", this.file, line), line };
        return undefined;
      case 1:
        return this.element(n, line);
      default:
        return undefined; // comments (upstream's removecomment filter)
    }
  }

  private element(n: DomNode, line: number): MNode {
    if (n.namespaceURI === XI_NS) this.fail(line, "xi:include is not supported in Genshi templates");
    const found: Array<{ name: string; dir: Directive }> = [];
    let implicitStrip = false;
    const attrs: Array<[string, Part[]]> = [];
    const attributes = Array.from(n.attributes ?? []);
    if (n.namespaceURI === GENSHI_NS) {
      const name = n.localName ?? "";
      if (!(name in ELEMENT_ARG)) this.fail(line, `bad directive "py:${name}"`);
      const argName = ELEMENT_ARG[name];
      const arg = argName ? attributes.find((a) => a.name === argName)?.value : undefined;
      found.push({ name, dir: this.directive(name, arg, line) });
      implicitStrip = true;
    }
    for (const a of attributes) {
      if (a.namespaceURI === GENSHI_NS) {
        found.push({ name: a.localName, dir: this.directive(a.localName, a.value, line) });
      } else if (n.namespaceURI === GENSHI_NS) {
        continue; // the directive element's own argument
      } else if (a.namespaceURI === "http://www.w3.org/2000/xmlns/" && a.value === GENSHI_NS) {
        continue; // Genshi drops the directive namespace from its output
      } else {
        attrs.push([a.name, this.parts(a.value, line)]);
      }
    }
    found.sort((a, b) => ORDER.indexOf(a.name) - ORDER.indexOf(b.name));
    const children: MNode[] = [];
    for (const c of Array.from(n.childNodes)) {
      const m = this.node(c);
      if (m) children.push(m);
    }
    return { k: "elem", tag: n.nodeName, attrs, children, directives: found.map((f) => f.dir), implicitStrip, line };
  }
}

// ---------------------------------------------------------------- output

/** Builds the output tree as lxml would parse Genshi's serialized stream (text and tails). */
class Builder {
  readonly container: XmlElement = { tag: "#fragment", attrs: {}, children: [] };
  private readonly stack: XmlElement[] = [this.container];

  text(s: string): void {
    if (!s) return;
    const cur = this.stack[this.stack.length - 1]!;
    const last = cur.children[cur.children.length - 1];
    if (last) last.tail = (last.tail ?? "") + s;
    else cur.text = (cur.text ?? "") + s;
  }
  start(tag: string, attrs: Record<string, string>, line: number): void {
    const e: XmlElement = { tag, attrs, children: [], line };
    this.stack[this.stack.length - 1]!.children.push(e);
    this.stack.push(e);
  }
  end(): void {
    this.stack.pop();
  }
  /** Places a py:def result here (copies: a fragment may be placed twice). */
  fragment(f: Fragment): void {
    this.text(f.container.text ?? "");
    for (const c of f.container.children) {
      this.stack[this.stack.length - 1]!.children.push(structuredClone({ ...c, tail: undefined }));
      this.text(c.tail ?? "");
    }
  }
  /** Text and markup of an expression's value. */
  value(v: unknown): void {
    flattenValue(v, (s) => this.text(s), (item) => {
      if (!(item instanceof Fragment)) return false;
      this.fragment(item);
      return true;
    });
  }
}

// ---------------------------------------------------------------- render

interface Flow {
  /** The innermost py:choose around this element. */
  choose?: ChooseState;
  /** Set by py:choose on this element: what when/otherwise among its descendants test. */
  childChoose?: ChooseState;
  /** Set by py:content: the element's children are this value instead. */
  content?: { value: unknown };
  /** Set by py:attrs. */
  extraAttrs?: unknown;
  strip?: boolean;
}

class Renderer {
  constructor(private readonly file: string) {}

  private fail(line: number, e: unknown): never {
    if (e instanceof RenderError) throw e;
    throw new RenderError(this.file, line, describe(e), e);
  }

  private eval(n: Node, scope: Scope, line: number): unknown {
    try {
      return evaluate(n, scope);
    } catch (e) {
      return this.fail(line, e);
    }
  }

  nodes(nodes: MNode[], scope: Scope, out: Builder, choose: ChooseState | undefined): void {
    for (const n of nodes) {
      if (n.k === "text") {
        for (const p of n.parts) {
          if (typeof p === "string") out.text(p);
          else {
            const v = this.eval(p.expr, scope, p.line);
            try {
              out.value(v);
            } catch (e) {
              this.fail(p.line, e);
            }
          }
        }
      } else if (n.k === "python") {
        try {
          execute(n.suite.body, scope);
        } catch (e) {
          throw new RenderError(this.file, suiteErrorLine(e, n.suite), describe(e), e);
        }
      } else this.apply(n, 0, scope, out, { choose });
    }
  }

  private apply(n: MNode & { k: "elem" }, i: number, scope: Scope, out: Builder, flow: Flow): void {
    const d = n.directives[i];
    if (!d) return this.emit(n, scope, out, flow);
    const next = (s: Scope = scope, f: Flow = flow) => this.apply(n, i + 1, s, out, f);
    switch (d.d) {
      case "def": {
        const fn = (...args: unknown[]) => {
          const frame = new Frame(scope);
          const kw = args.length && isKw(args[args.length - 1]) ? (args.pop() as Record<string, unknown>) : {};
          d.params.forEach((p, j) => {
            if (j < args.length) frame.set(p.name, args[j]);
            else if (Object.prototype.hasOwnProperty.call(kw, p.name)) frame.set(p.name, kw[p.name]);
            else if (p.dflt) frame.set(p.name, this.eval(p.dflt, scope, n.line));
            else throw new PyException("TypeError", `${d.name}() missing required argument: '${p.name}'`);
          });
          const b = new Builder();
          this.apply(n, i + 1, frame, b, { choose: flow.choose });
          return new Fragment(b.container);
        };
        scope.set(d.name, fn);
        return;
      }
      case "when": {
        const c = flow.choose;
        if (!c) return this.fail(n.line, new PyException("TemplateRuntimeError", "when directives can only be used inside a choose directive"));
        if (c.matched) return;
        if (!whenMatches(c, this.eval(d.test, scope, n.line))) return;
        c.matched = true;
        return next();
      }
      case "otherwise": {
        const c = flow.choose;
        if (!c) return this.fail(n.line, new PyException("TemplateRuntimeError", "an otherwise directive can only be used inside a choose directive"));
        if (c.matched) return;
        c.matched = true;
        return next();
      }
      case "for": {
        let items: unknown[];
        try {
          items = iterate(this.eval(d.it, scope, n.line));
        } catch (e) {
          return this.fail(n.line, e);
        }
        for (const item of items) {
          const frame = new Frame(scope);
          try {
            bindTargets(frame, d.targets, item);
          } catch (e) {
            this.fail(n.line, e);
          }
          next(frame);
        }
        return;
      }
      case "if":
        if (truthy(this.eval(d.test, scope, n.line))) next();
        return;
      case "choose": {
        const state: ChooseState = d.test ? { value: this.eval(d.test, scope, n.line), hasValue: true, matched: false } : { hasValue: false, matched: false };
        return next(scope, { ...flow, childChoose: state });
      }
      case "with": {
        const frame = new Frame(scope);
        try {
          execute(d.suite.body, frame);
        } catch (e) {
          throw new RenderError(this.file, suiteErrorLine(e, d.suite), describe(e), e);
        }
        return next(frame);
      }
      case "replace": {
        const v = this.eval(d.value, scope, n.line);
        try {
          out.value(v);
        } catch (e) {
          this.fail(n.line, e);
        }
        return;
      }
      case "content":
        return next(scope, { ...flow, content: { value: this.eval(d.value, scope, n.line) } });
      case "attrs":
        return next(scope, { ...flow, extraAttrs: this.eval(d.value, scope, n.line) });
      case "strip":
        return next(scope, { ...flow, strip: d.value ? truthy(this.eval(d.value, scope, n.line)) : true });
    }
  }

  private emit(n: MNode & { k: "elem" }, scope: Scope, out: Builder, flow: Flow): void {
    const childChoose = flow.childChoose ?? flow.choose;
    const inner = () => {
      if (flow.content) {
        try {
          out.value(flow.content.value);
        } catch (e) {
          this.fail(n.line, e);
        }
      } else this.nodes(n.children, scope, out, childChoose);
    };
    if (n.implicitStrip || flow.strip) return inner();
    out.start(n.tag, this.attributes(n, scope, flow.extraAttrs), n.line);
    inner();
    out.end();
  }

  private attributes(n: MNode & { k: "elem" }, scope: Scope, extra: unknown): Record<string, string> {
    const attrs: Record<string, string> = {};
    for (const [name, parts] of n.attrs) {
      const values: string[] = [];
      for (const p of parts) {
        if (typeof p === "string") values.push(p);
        else {
          const v = this.eval(p.expr, scope, p.line);
          try {
            flattenValue(v, (s) => values.push(s), (item) => item instanceof Fragment && (values.push(item.toString()), true));
          } catch (e) {
            this.fail(p.line, e);
          }
        }
      }
      // Genshi drops an attribute whose value produced no text at all (e.g. ${None}).
      if (values.length) attrs[name] = values.join("");
    }
    if (extra !== null && extra !== undefined && truthy(extra)) {
      let pairs: unknown[];
      try {
        pairs = Array.isArray(extra) ? extra : iterate(extra).map((k) => [k, evaluate({ k: "item", o: { k: "const", v: extra }, i: { k: "const", v: k } }, scope)]);
      } catch (e) {
        return this.fail(n.line, e);
      }
      for (const pair of pairs) {
        const [k, v] = iterate(pair);
        const name = pyStr(k);
        // Genshi's AttrsDirective: str(v).strip(), and None or an empty result removes the attribute
        const s = v === null || v === undefined ? "" : pyStr(v).trim();
        if (s) attrs[name] = s;
        else delete attrs[name];
      }
    }
    return attrs;
  }
}

function isKw(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as { __kw?: unknown }).__kw === true;
}

export interface CompiledMarkup {
  path: string;
  /** The rendered document's root element (an error when the output is not one element). */
  render(vars: object): XmlElement;
}

/** Compiles a Genshi markup template; syntax errors are RenderErrors naming file:line. */
export function compileMarkup(src: string, path: string): CompiledMarkup {
  if (/<!DOCTYPE|<!ENTITY/i.test(src)) throw new RenderError(path, 1, "TemplateSyntaxError: DOCTYPE and entity declarations are not allowed");
  let errorLine = 0;
  let errorMsg = "";
  const doc = new DOMParser({
    onError: (level: string, msg: string, ctx?: { locator?: { lineNumber?: number } }) => {
      if (level === "warning" || errorMsg) return;
      errorMsg = msg.replace(/\n?@#\[line:\d+,col:\d+\]$/, "");
      errorLine = ctx?.locator?.lineNumber ?? 0;
    },
  } as ConstructorParameters<typeof DOMParser>[0]);
  let root: DomNode | null = null;
  try {
    root = doc.parseFromString(src, "text/xml").documentElement as unknown as DomNode | null;
  } catch (e) {
    const m = /line:(\d+)/.exec((e as Error).message);
    throw new RenderError(path, Number(m?.[1] ?? errorLine) || 1, `ParseError: ${errorMsg || (e as Error).message.split("\n")[0]}`, e);
  }
  if (errorMsg || !root) throw new RenderError(path, errorLine || 1, `ParseError: ${errorMsg || "no root element"}`);
  const compiled = new Compiler(path, src).node(root)!;
  return {
    path,
    render(vars) {
      const scope = new Frame(new Map(Object.entries(vars)));
      const out = new Builder();
      new Renderer(path).nodes([compiled], scope, out, undefined);
      const roots = out.container.children;
      if (roots.length !== 1) throw new RenderError(path, 1, `the template produced ${roots.length} root elements, not one`);
      const r = roots[0]!;
      delete r.tail;
      return r;
    },
  };
}
