// A safe subset of Python for templates (Genshi, Cheetah): names, literals, attribute and item
// access, calls, comprehensions, operators, and the statements of Genshi's {% python %} blocks.
// No imports, no classes, no access to the host: names resolve only in the template scope.
// Values are the shared Python runtime's (values.ts, operators.ts, format.ts, methods.ts, the same as
// the Jinja2 engine's); host objects take part through the conventions of host-objects.ts.
import { callValue, type Kwargs } from "./callables.js";
import { roundFloat, toFloat, toInt } from "./format.js";
import { hostMethod } from "./host-objects.js";
import { pyMethod, type Lookup } from "./methods.js";
import { binaryOp, unaryOp } from "./operators.js";
import {
  compare, contains, isFloat, isMapping, isNone, isNumber, iterate, len, mappingGet, mappingHas, num, primitive, pyEq,
  PyException, PyFloat, pyRepr, pySorted, pyStr, setHas, strValue, toTuple, truthy, typeName,
} from "./values.js";

const setOf = (items: unknown[]): Set<unknown> => new Set(items.map((x) => primitive(x)));

// ---------------------------------------------------------------- tokens
type Tok = { t: "name" | "num" | "str" | "op" | "nl" | "end"; v: string; pos: number };

const OPS = ["//=", "**=", "+=", "-=", "*=", "/=", "%=", "|=", "&=", "**", "//", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "|", "&", "(", ")", "[", "]", "{", "}", ",", ":", ".", "=", ";"];

function unescapePy(body: string, raw: boolean): string {
  if (raw) return body;
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.|\n)/g, (_m, c: string) => {
    switch (c[0]) {
      case "n": return "\n";
      case "t": return "\t";
      case "r": return "\r";
      case "0": return "\0";
      case "\n": return "";
      case "x": case "u": return String.fromCharCode(Number.parseInt(c.slice(1), 16));
      case "\\": case "'": case '"': return c;
      default: return "\\" + c;
    }
  });
}

export function tokenize(src: string, emitNewlines: boolean): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let depth = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\n") {
      if (emitNewlines && depth === 0 && out.length && out[out.length - 1]!.t !== "nl") out.push({ t: "nl", v: "\n", pos: i });
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") { i++; continue; }
    if (c === "\\" && src[i + 1] === "\n") { i += 2; continue; }
    if (c === "#") { while (i < src.length && src[i] !== "\n") i++; continue; }
    const sm = /^([rRuUbB]{0,2})('''|"""|'|")/.exec(src.slice(i, i + 5));
    if (sm && (sm[1] === "" || /^[rRuUbB]+$/.test(sm[1]!))) {
      const q = sm[2]!;
      let j = i + sm[0].length;
      let body = "";
      while (j < src.length && !src.startsWith(q, j)) {
        if (src[j] === "\\") { body += src.slice(j, j + 2); j += 2; continue; }
        if (q.length === 1 && src[j] === "\n") throw new PyException("SyntaxError", "EOL while scanning string literal");
        body += src[j];
        j++;
      }
      if (j >= src.length) throw new PyException("SyntaxError", "unterminated string literal");
      out.push({ t: "str", v: unescapePy(body, /r/i.test(sm[1]!)), pos: i });
      i = j + q.length;
      continue;
    }
    const nm = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (nm) { out.push({ t: "name", v: nm[0], pos: i }); i += nm[0].length; continue; }
    const num = /^(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?/.exec(src.slice(i));
    if (num) { out.push({ t: "num", v: num[0], pos: i }); i += num[0].length; continue; }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new PyException("SyntaxError", `invalid character ${JSON.stringify(c)}`);
    if ("([{".includes(op)) depth++;
    if (")]}".includes(op)) depth--;
    out.push({ t: "op", v: op, pos: i });
    i += op.length;
  }
  out.push({ t: "end", v: "", pos: src.length });
  return out;
}

// ---------------------------------------------------------------- AST
export type Node =
  | { k: "const"; v: unknown }
  | { k: "name"; n: string }
  | { k: "attr"; o: Node; n: string }
  | { k: "item"; o: Node; i: Node }
  | { k: "slice"; o: Node; a?: Node; b?: Node; s?: Node }
  | { k: "call"; f: Node; args: Node[]; kw: Array<[string, Node]> }
  | { k: "list"; items: Node[]; kind?: "tuple" | "set" }
  | { k: "lambda"; params: Param[]; body: Node }
  | { k: "dict"; items: Array<[Node, Node]> }
  | { k: "comp"; e: Node; clauses: CompClause[]; dict?: Node }
  | { k: "un"; op: string; a: Node }
  | { k: "bin"; op: string; a: Node; b: Node }
  | { k: "cmp"; first: Node; rest: Array<[string, Node]> }
  | { k: "and" | "or"; a: Node; b: Node }
  | { k: "ifelse"; c: Node; a: Node; b: Node }
  /** Evaluated by a host callback (Cheetah's NameMapper lookups); only our parsers build these. */
  | { k: "hook"; f: (scope: Scope) => unknown };

/** One `for targets in it if cond…` clause of a comprehension. */
export type CompClause = { targets: string[]; it: Node; conds: Node[] };

/** A function parameter (def or lambda): name and default value expression. */
export type Param = { name: string; dflt?: Node };

export class Parser {
  i = 0;
  constructor(private readonly toks: Tok[]) {}
  peek(o = 0): Tok { return this.toks[Math.min(this.i + o, this.toks.length - 1)]!; }
  next(): Tok { return this.toks[this.i++]!; }
  isOp(v: string): boolean { const t = this.peek(); return t.t === "op" && t.v === v; }
  isKw(v: string): boolean { const t = this.peek(); return t.t === "name" && t.v === v; }
  expect(v: string): void {
    const t = this.next();
    if (t.v !== v || (t.t !== "op" && t.t !== "name")) throw new PyException("SyntaxError", `expected "${v}" but found "${t.v || "end of expression"}"`);
  }
  atEnd(): boolean { return this.peek().t === "end"; }

  /** Parameter list up to `close` (not consumed): a, b=1. No *args/**kwargs. */
  params(close: string): Param[] {
    const out: Param[] = [];
    while (!this.isOp(close)) {
      const t = this.next();
      if (t.t !== "name") throw new PyException("SyntaxError", `expected a parameter name, found "${t.v}"`);
      const p: Param = { name: t.v };
      if (this.isOp("=")) { this.next(); p.dflt = this.expr(); }
      out.push(p);
      if (!this.isOp(",")) break;
      this.next();
    }
    return out;
  }
  targets(): string[] {
    const names: string[] = [];
    const paren = this.isOp("(");
    if (paren) this.next();
    do {
      const t = this.next();
      if (t.t !== "name") throw new PyException("SyntaxError", `expected a name, found "${t.v}"`);
      names.push(t.v);
    } while (this.isOp(",") && this.next());
    if (paren) this.expect(")");
    return names;
  }

  expr(): Node {
    if (this.isKw("lambda")) {
      this.next();
      const params = this.params(":");
      this.expect(":");
      return { k: "lambda", params, body: this.expr() };
    }
    const a = this.or();
    if (this.isKw("if")) {
      this.next();
      const c = this.or();
      this.expect("else");
      return { k: "ifelse", c, a, b: this.expr() };
    }
    return a;
  }
  /** expr, or a tuple when commas follow (for `x = a, b` and `for` targets). */
  exprList(): Node {
    const first = this.expr();
    if (!this.isOp(",")) return first;
    const items = [first];
    while (this.isOp(",")) {
      this.next();
      if (this.atEnd() || this.peek().t === "nl") break;
      items.push(this.expr());
    }
    return { k: "list", items, kind: "tuple" };
  }
  or(): Node { let a = this.and(); while (this.isKw("or")) { this.next(); a = { k: "or", a, b: this.and() }; } return a; }
  and(): Node { let a = this.not(); while (this.isKw("and")) { this.next(); a = { k: "and", a, b: this.not() }; } return a; }
  not(): Node { if (this.isKw("not")) { this.next(); return { k: "un", op: "not", a: this.not() }; } return this.cmp(); }
  cmp(): Node {
    const first = this.bitor();
    const rest: Array<[string, Node]> = [];
    for (;;) {
      const t = this.peek();
      let op: string | undefined;
      if (t.t === "op" && ["==", "!=", "<", ">", "<=", ">="].includes(t.v)) { op = t.v; this.next(); }
      else if (this.isKw("in")) { op = "in"; this.next(); }
      else if (this.isKw("not") && this.peek(1).v === "in") { op = "not in"; this.next(); this.next(); }
      else if (this.isKw("is")) { this.next(); op = "is"; if (this.isKw("not")) { this.next(); op = "is not"; } }
      if (!op) break;
      rest.push([op, this.bitor()]);
    }
    return rest.length ? { k: "cmp", first, rest } : first;
  }
  bitor(): Node {
    let a = this.bitand();
    while (this.isOp("|")) { this.next(); a = { k: "bin", op: "|", a, b: this.bitand() }; }
    return a;
  }
  bitand(): Node {
    let a = this.arith();
    while (this.isOp("&")) { this.next(); a = { k: "bin", op: "&", a, b: this.arith() }; }
    return a;
  }
  arith(): Node {
    let a = this.term();
    while (this.isOp("+") || this.isOp("-")) { const op = this.next().v; a = { k: "bin", op, a, b: this.term() }; }
    return a;
  }
  term(): Node {
    let a = this.factor();
    while (this.isOp("*") || this.isOp("/") || this.isOp("//") || this.isOp("%")) { const op = this.next().v; a = { k: "bin", op, a, b: this.factor() }; }
    return a;
  }
  factor(): Node {
    if (this.isOp("-") || this.isOp("+")) { const op = this.next().v; return { k: "un", op, a: this.factor() }; }
    const base = this.primary();
    if (this.isOp("**")) { this.next(); return { k: "bin", op: "**", a: base, b: this.factor() }; }
    return base;
  }
  primary(): Node {
    let n = this.atom();
    for (;;) {
      if (this.isOp(".")) {
        this.next();
        const t = this.next();
        if (t.t !== "name") throw new PyException("SyntaxError", `expected an attribute name after "."`);
        n = { k: "attr", o: n, n: t.v };
      } else if (this.isOp("(")) {
        this.next();
        n = this.callArgs(n);
      } else if (this.isOp("[")) {
        this.next();
        n = this.subscript(n);
      } else return n;
    }
  }
  callArgs(f: Node): Node {
    const args: Node[] = [];
    const kw: Array<[string, Node]> = [];
    while (!this.isOp(")")) {
      if (this.peek().t === "name" && this.peek(1).v === "=" && this.peek(1).t === "op") {
        const name = this.next().v;
        this.next();
        kw.push([name, this.expr()]);
      } else {
        const e = this.expr();
        if (this.isKw("for")) args.push(this.comprehension(e)); // f(x for x in y)
        else args.push(e);
      }
      if (!this.isOp(",")) break;
      this.next();
    }
    this.expect(")");
    return { k: "call", f, args, kw };
  }
  subscript(o: Node): Node {
    let a: Node | undefined;
    if (!this.isOp(":")) a = this.expr();
    if (this.isOp(":")) {
      this.next();
      let b: Node | undefined;
      let s: Node | undefined;
      if (!this.isOp("]") && !this.isOp(":")) b = this.expr();
      if (this.isOp(":")) { this.next(); if (!this.isOp("]")) s = this.expr(); }
      this.expect("]");
      return { k: "slice", o, a, b, s };
    }
    this.expect("]");
    return { k: "item", o, i: a! };
  }
  comprehension(e: Node, dict?: Node): Node {
    const clauses: CompClause[] = [];
    while (this.isKw("for")) {
      this.next();
      const targets = this.targets();
      this.expect("in");
      const it = this.or();
      const conds: Node[] = [];
      while (this.isKw("if")) { this.next(); conds.push(this.or()); }
      clauses.push({ targets, it, conds });
    }
    return { k: "comp", e, clauses, dict };
  }
  setLiteral(first: Node): Node {
    const items = [first];
    while (this.isOp(",")) { this.next(); if (this.isOp("}")) break; items.push(this.expr()); }
    this.expect("}");
    return { k: "list", items, kind: "set" };
  }
  atom(): Node {
    const t = this.next();
    if (t.t === "num") return { k: "const", v: /[.eE]/.test(t.v) ? new PyFloat(Number(t.v)) : Number(t.v) };
    if (t.t === "str") {
      let s = t.v;
      while (this.peek().t === "str") s += this.next().v; // implicit concatenation
      return { k: "const", v: s };
    }
    if (t.t === "name") {
      if (t.v === "None") return { k: "const", v: null };
      if (t.v === "True") return { k: "const", v: true };
      if (t.v === "False") return { k: "const", v: false };
      if (["import", "def", "class", "yield", "await", "exec", "eval"].includes(t.v)) throw new PyException("SyntaxError", `"${t.v}" is not supported in templates`);
      return { k: "name", n: t.v };
    }
    if (t.t === "op" && (t.v === "(" || t.v === "[")) {
      const close = t.v === "(" ? ")" : "]";
      if (this.isOp(close)) { this.next(); return { k: "list", items: [], kind: close === ")" ? "tuple" : undefined }; }
      const first = this.expr();
      if (this.isKw("for")) { const c = this.comprehension(first); this.expect(close); return c; }
      if (t.v === "(" && this.isOp(")")) { this.next(); return first; }
      const items = [first];
      while (this.isOp(",")) { this.next(); if (this.isOp(close)) break; items.push(this.expr()); }
      this.expect(close);
      return { k: "list", items, kind: close === ")" ? "tuple" : undefined };
    }
    if (t.t === "op" && t.v === "{") {
      const items: Array<[Node, Node]> = [];
      while (!this.isOp("}")) {
        const key = this.expr();
        if (items.length === 0 && (this.isOp(",") || this.isOp("}"))) return this.setLiteral(key);
        this.expect(":");
        const value = this.expr();
        if (this.isKw("for")) { const c = this.comprehension(value, key); this.expect("}"); return c; }
        items.push([key, value]);
        if (!this.isOp(",")) break;
        this.next();
      }
      this.expect("}");
      return { k: "dict", items };
    }
    throw new PyException("SyntaxError", `unexpected "${t.v || "end of expression"}"`);
  }
}

export function parseExpression(src: string): Node {
  const p = new Parser(tokenize(src, false));
  const e = p.exprList();
  if (!p.atEnd()) throw new PyException("SyntaxError", `unexpected "${p.peek().v}"`);
  return e;
}

/** `for` directive heads: "x in items" / "k, v in items". */
export function parseForHead(src: string): { targets: string[]; it: Node } {
  const p = new Parser(tokenize(src, false));
  const targets = p.targets();
  p.expect("in");
  const it = p.exprList();
  if (!p.atEnd()) throw new PyException("SyntaxError", `unexpected "${p.peek().v}"`);
  return { targets, it };
}

// ---------------------------------------------------------------- values
export type Scope = Map<string, unknown>;

/** The shared operators, plus what Jinja2 has no syntax for: set `|` `&` `-` and integer `|` `&`. */
function binary(op: string, a: unknown, b: unknown): unknown {
  if (a instanceof Set && b instanceof Set && (op === "|" || op === "&" || op === "-")) {
    if (op === "|") return new Set([...a, ...b]);
    return new Set([...a].filter((x) => setHas(b, x) === (op === "&")));
  }
  if (op === "|" || op === "&") {
    if (isNumber(a) && isNumber(b) && !isFloat(a) && !isFloat(b)) return op === "|" ? num(a) | num(b) : num(a) & num(b);
    throw new PyException("TypeError", `unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
  }
  return binaryOp(op, a, b);
}

/** How str.format's `{0.name}` / `{0[key]}` look things up: as the template does. */
const LOOKUP: Lookup = { attr: (o, name) => getAttr(o, name), item: (o, key) => getItem(o, key) };

/** Genshi's lookup: the object's own attribute, then its type's method, else UndefinedError. */
export function getAttr(o: unknown, name: string): unknown {
  if (name.startsWith("__")) throw new PyException("AttributeError", `access to "${name}" is not allowed`);
  if (isNone(o)) throw new PyException("UndefinedError", `None has no member named "${name}"`);
  if (typeof o === "object" && !Array.isArray(o) && !(o instanceof Set) && !(o instanceof Map) && !(o instanceof PyFloat) && name in o && !(name in Object.prototype)) {
    const x = (o as Record<string, unknown>)[name];
    return typeof x === "function" ? (x as (...a: unknown[]) => unknown).bind(o) : x;
  }
  const m = pyMethod(o, name, LOOKUP);
  if (m) return m;
  const v = primitive(o);
  throw new PyException("UndefinedError", `${pyRepr(typeof v === "object" ? String(v) : v)} has no member named "${name}"`);
}

function getItem(o: unknown, k: unknown): unknown {
  const v = primitive(o);
  const key = primitive(k);
  if (Array.isArray(v) || typeof v === "string") {
    if (typeof key !== "number") throw new PyException("TypeError", `indices must be integers, not ${typeName(key)}`);
    const i = key < 0 ? v.length + key : key;
    if (i < 0 || i >= v.length) throw new PyException("IndexError", "index out of range");
    return v[i];
  }
  const gi = hostMethod(o, "__getitem__");
  if (gi) return gi(key);
  if (isMapping(v)) {
    if (mappingHas(v, k)) return mappingGet(v, k);
    throw new PyException("KeyError", pyRepr(key));
  }
  throw new PyException("TypeError", `'${typeName(v)}' object is not subscriptable`);
}

/** Positional arguments and the keyword arguments a call passed (evaluate() appends them as one marked object). */
export function splitKw(args: unknown[]): [unknown[], Record<string, unknown>] {
  const last = args[args.length - 1] as { __kw?: boolean } | undefined;
  if (last && typeof last === "object" && last.__kw === true) {
    const { __kw: _, ...kw } = last as Record<string, unknown>;
    return [args.slice(0, -1), kw];
  }
  return [args, {}];
}

/** sorted(): stable, optional key function, reverse keeps equal items in order (as Python). */
function sortItems(items: unknown[], key: unknown, reverse: unknown): unknown[] {
  return pySorted(items, isNone(key) ? undefined : (x) => callValue(key, [x]), truthy(reverse));
}

function extreme(all: unknown[], sign: number): unknown {
  const [xs, kw] = splitKw(all);
  const items = xs.length === 1 ? iterate(xs[0]) : xs;
  if (!items.length) {
    if ("default" in kw) return kw.default;
    throw new PyException("ValueError", `${sign < 0 ? "min" : "max"}() arg is an empty sequence`);
  }
  const k = (v: unknown) => (isNone(kw.key) ? v : callValue(kw.key, [v]));
  return items.reduce((a, b) => (compare(k(b), k(a)) * sign > 0 ? b : a));
}

/** A Python function (def or lambda) over the defining scope: locals in a copy, globals read through. */
export function makeFunction(name: string, params: Param[], scope: Scope, body: (inner: Scope) => unknown): (...a: unknown[]) => unknown {
  const fn = (...all: unknown[]) => {
    const [args, kw] = splitKw(all);
    if (args.length > params.length) throw new PyException("TypeError", `${name}() takes ${params.length} positional arguments but ${args.length} were given`);
    const inner: Scope = new Map(scope);
    params.forEach((p, i) => {
      if (i < args.length) inner.set(p.name, args[i]);
      else if (Object.prototype.hasOwnProperty.call(kw, p.name)) inner.set(p.name, kw[p.name]);
      else if (p.dflt) inner.set(p.name, evaluate(p.dflt, scope));
      else throw new PyException("TypeError", `${name}() missing required argument: '${p.name}'`);
    });
    for (const k of Object.keys(kw)) if (!params.some((p) => p.name === k)) throw new PyException("TypeError", `${name}() got an unexpected keyword argument '${k}'`);
    return body(inner);
  };
  return fn;
}

/** The exception value `ValueError(m)` evaluates to (`raise` throws it). */
export function exception(type: string, message: unknown): PyException {
  return new PyException(type, strValue(message) ?? pyStr(message));
}

const BUILTINS: Record<string, (...a: unknown[]) => unknown> = {
  len: (x) => len(x),
  str: (x = "") => pyStr(x),
  repr: (x) => pyRepr(x),
  int: (x = 0) => toInt(x),
  float: (x = 0) => new PyFloat(toFloat(x)),
  bool: (x) => truthy(x),
  list: (x = []) => [...iterate(x)],
  tuple: (x = []) => toTuple(iterate(x)),
  set: (x = []) => setOf(iterate(x)),
  sorted: (...all) => {
    const [[x], kw] = splitKw(all);
    return sortItems(iterate(x), kw.key, kw.reverse);
  },
  reversed: (x) => [...iterate(x)].reverse(),
  range: (a, b, s) => {
    const [start, stop, step] = b === undefined ? [0, Number(a), 1] : [Number(a), Number(b), s === undefined ? 1 : Number(s)];
    const out: number[] = [];
    if (step === 0) throw new PyException("ValueError", "range() arg 3 must not be zero");
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) {
      out.push(i);
      if (out.length > 1_000_000) throw new PyException("MemoryError", "range too large");
    }
    return out;
  },
  enumerate: (x, start = 0) => iterate(x).map((v, i) => toTuple([i + Number(start), v])),
  zip: (...xs) => {
    const ls = xs.map(iterate);
    const n = Math.min(...ls.map((l) => l.length));
    return Array.from({ length: n }, (_, i) => toTuple(ls.map((l) => l[i])));
  },
  min: (...all) => extreme(all, -1),
  max: (...all) => extreme(all, 1),
  sum: (x, start = 0) => iterate(x).reduce((a: unknown, b) => binary("+", a, b), start),
  any: (x) => iterate(x).some(truthy),
  all: (x) => iterate(x).every(truthy),
  abs: (x) => (x instanceof PyFloat ? new PyFloat(Math.abs(x.v)) : Math.abs(Number(primitive(x)))),
  round: (x, n) => {
    const v = Number(primitive(x));
    if (isNone(n)) return roundFloat(v, 0) || 0;
    const r = roundFloat(v, Number(n));
    return isFloat(x) ? new PyFloat(r) : r;
  },
  dict: (x) => (x === undefined ? {} : Object.fromEntries(iterate(x) as Array<[string, unknown]>)),
  hasattr: (o, n) => { try { getAttr(o, String(n)); return true; } catch { return false; } },
  getattr: (o, n, d) => { try { return getAttr(o, String(n)); } catch (e) { if (d !== undefined) return d; throw e; } },
  Exception: (m = "") => exception("Exception", m),
  ValueError: (m = "") => exception("ValueError", m),
  TypeError: (m = "") => exception("TypeError", m),
  KeyError: (m = "") => exception("KeyError", m),
  RuntimeError: (m = "") => exception("RuntimeError", m),
  isinstance: () => { throw new PyException("NameError", "isinstance is not supported"); },
};

/** A builtin function by name (True/False/None included), or undefined. */
export function pyBuiltin(name: string): { value: unknown } | undefined {
  if (name === "True" || name === "False" || name === "None") return { value: name === "True" ? true : name === "False" ? false : null };
  return Object.prototype.hasOwnProperty.call(BUILTINS, name) ? { value: BUILTINS[name] } : undefined;
}

export function evaluate(n: Node, scope: Scope): unknown {
  switch (n.k) {
    case "const": return n.v;
    case "hook": return n.f(scope);
    case "name": {
      if (scope.has(n.n)) return scope.get(n.n);
      if (Object.prototype.hasOwnProperty.call(BUILTINS, n.n)) return BUILTINS[n.n];
      throw new PyException("UndefinedError", `"${n.n}" not defined`);
    }
    case "attr": return getAttr(evaluate(n.o, scope), n.n);
    case "item": return getItem(evaluate(n.o, scope), evaluate(n.i, scope));
    case "slice": {
      const v = primitive(evaluate(n.o, scope));
      if (!Array.isArray(v) && typeof v !== "string") throw new PyException("TypeError", `'${typeName(v)}' object is not subscriptable`);
      const len = v.length;
      const idx = (x: Node | undefined, d: number) => {
        if (!x) return d;
        const i = Number(primitive(evaluate(x, scope)));
        return i < 0 ? Math.max(0, len + i) : Math.min(i, len);
      };
      const step = n.s ? Number(primitive(evaluate(n.s, scope))) : 1;
      if (step === 1) return v.slice(idx(n.a, 0), idx(n.b, len));
      const items = [...v];
      const out: unknown[] = [];
      if (step > 0) for (let i = idx(n.a, 0); i < idx(n.b, len); i += step) out.push(items[i]);
      else for (let i = n.a ? idx(n.a, len - 1) : len - 1; i > (n.b ? idx(n.b, -1) : -1); i += step) out.push(items[i]);
      return typeof v === "string" ? out.join("") : out;
    }
    case "call": {
      const f = evaluate(n.f, scope);
      const args = n.args.map((a) => evaluate(a, scope));
      const kwargs: Kwargs = new Map(n.kw.map(([k, v]) => [k, evaluate(v, scope)]));
      return callValue(f, args, kwargs);
    }
    case "list": {
      const items = n.items.map((x) => evaluate(x, scope));
      return n.kind === "tuple" ? toTuple(items) : n.kind === "set" ? setOf(items) : items;
    }
    case "lambda": return makeFunction("<lambda>", n.params, scope, (inner) => evaluate(n.body, inner));
    case "dict": return Object.fromEntries(n.items.map(([k, v]) => [pyStr(evaluate(k, scope)), evaluate(v, scope)]));
    case "comp": {
      const out: unknown[] = [];
      const obj: Record<string, unknown> = {};
      // The clauses nest left to right, each in a scope of its own (comprehension variables do not leak).
      const run = (i: number, sc: Scope): void => {
        const cl = n.clauses[i];
        if (!cl) {
          if (n.dict) obj[pyStr(evaluate(n.dict, sc))] = evaluate(n.e, sc);
          else out.push(evaluate(n.e, sc));
          return;
        }
        for (const item of iterate(evaluate(cl.it, sc))) {
          const inner = new Map(sc);
          bindTargets(inner, cl.targets, item);
          if (cl.conds.every((c) => truthy(evaluate(c, inner)))) run(i + 1, inner);
        }
      };
      run(0, scope);
      return n.dict ? obj : out;
    }
    case "un": {
      const a = evaluate(n.a, scope);
      return n.op === "not" ? !truthy(a) : unaryOp(n.op as "-" | "+", a);
    }
    case "bin": return binary(n.op, evaluate(n.a, scope), evaluate(n.b, scope));
    case "and": { const a = evaluate(n.a, scope); return truthy(a) ? evaluate(n.b, scope) : a; }
    case "or": { const a = evaluate(n.a, scope); return truthy(a) ? a : evaluate(n.b, scope); }
    case "ifelse": return truthy(evaluate(n.c, scope)) ? evaluate(n.a, scope) : evaluate(n.b, scope);
    case "cmp": {
      let left = evaluate(n.first, scope);
      for (const [op, rn] of n.rest) {
        const right = evaluate(rn, scope);
        let ok: boolean;
        switch (op) {
          case "==": ok = pyEq(left, right); break;
          case "!=": ok = !pyEq(left, right); break;
          case "in": ok = contains(right, left); break;
          case "not in": ok = !contains(right, left); break;
          case "is": ok = primitive(left) === primitive(right) || (left == null && right == null); break;
          case "is not": ok = !(primitive(left) === primitive(right) || (left == null && right == null)); break;
          case "<": ok = compare(left, right) < 0; break;
          case ">": ok = compare(left, right) > 0; break;
          case "<=": ok = compare(left, right) <= 0; break;
          default: ok = compare(left, right) >= 0;
        }
        if (!ok) return false;
        left = right;
      }
      return true;
    }
  }
}

export function bindTargets(scope: Scope, targets: string[], value: unknown): void {
  if (targets.length === 1) {
    scope.set(targets[0]!, value);
    return;
  }
  const items = iterate(value);
  if (items.length !== targets.length) throw new PyException("ValueError", `expected ${targets.length} values to unpack, got ${items.length}`);
  targets.forEach((t, i) => scope.set(t, items[i]));
}
