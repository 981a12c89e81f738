// A safe subset of Python for templates (Genshi, Cheetah): names, literals, attribute and item
// access, calls, comprehensions, operators, and the statements of Genshi's {% python %} blocks.
// No imports, no classes, no access to the host: names resolve only in the template scope.
// Host objects take part through the symbols of protocol.ts.
import { hostIter, hostLen, hostMethod, hostStr, PY_REPR, PY_STR, PY_TYPE } from "./host-objects.js";
import { PyException, PyFloat, pyFloatRepr, pySplit, PyTuple } from "./expr-values.js";

const setOf = (items: unknown[]): Set<unknown> => new Set(items.map((x) => norm(x)));

export class PyError extends Error {
  constructor(
    readonly pyType: string,
    message: string,
  ) {
    super(`${pyType}: ${message}`);
  }
}

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
        if (q.length === 1 && src[j] === "\n") throw new PyError("SyntaxError", "EOL while scanning string literal");
        body += src[j];
        j++;
      }
      if (j >= src.length) throw new PyError("SyntaxError", "unterminated string literal");
      out.push({ t: "str", v: unescapePy(body, /r/i.test(sm[1]!)), pos: i });
      i = j + q.length;
      continue;
    }
    const nm = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (nm) { out.push({ t: "name", v: nm[0], pos: i }); i += nm[0].length; continue; }
    const num = /^(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?/.exec(src.slice(i));
    if (num) { out.push({ t: "num", v: num[0], pos: i }); i += num[0].length; continue; }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new PyError("SyntaxError", `invalid character ${JSON.stringify(c)}`);
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
    if (t.v !== v || (t.t !== "op" && t.t !== "name")) throw new PyError("SyntaxError", `expected "${v}" but found "${t.v || "end of expression"}"`);
  }
  atEnd(): boolean { return this.peek().t === "end"; }

  /** Parameter list up to `close` (not consumed): a, b=1. No *args/**kwargs. */
  params(close: string): Param[] {
    const out: Param[] = [];
    while (!this.isOp(close)) {
      const t = this.next();
      if (t.t !== "name") throw new PyError("SyntaxError", `expected a parameter name, found "${t.v}"`);
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
      if (t.t !== "name") throw new PyError("SyntaxError", `expected a name, found "${t.v}"`);
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
        if (t.t !== "name") throw new PyError("SyntaxError", `expected an attribute name after "."`);
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
      if (["import", "def", "class", "yield", "await", "exec", "eval"].includes(t.v)) throw new PyError("SyntaxError", `"${t.v}" is not supported in templates`);
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
    throw new PyError("SyntaxError", `unexpected "${t.v || "end of expression"}"`);
  }
}

export function parseExpression(src: string): Node {
  const p = new Parser(tokenize(src, false));
  const e = p.exprList();
  if (!p.atEnd()) throw new PyError("SyntaxError", `unexpected "${p.peek().v}"`);
  return e;
}

/** `for` directive heads: "x in items" / "k, v in items". */
export function parseForHead(src: string): { targets: string[]; it: Node } {
  const p = new Parser(tokenize(src, false));
  const targets = p.targets();
  p.expect("in");
  const it = p.exprList();
  if (!p.atEnd()) throw new PyError("SyntaxError", `unexpected "${p.peek().v}"`);
  return { targets, it };
}

// ---------------------------------------------------------------- values
export type Scope = Map<string, unknown>;

/** The primitive a value stands for (a probe value's str, a float's number), else the value. */
export function norm(v: unknown): unknown {
  if (v instanceof PyFloat) return v.v;
  return hostStr(v) ?? v;
}

export function truthy(v: unknown): boolean {
  v = norm(v);
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map || v instanceof Set) return v.size > 0;
  const n = hostLen(v);
  if (n !== undefined) return n > 0;
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.keys(v as object).length > 0;
  return true;
}

export function pyRepr(v: unknown): string {
  const r = hostMethod(v, PY_REPR) ?? hostMethod(v, PY_STR);
  if (r && hostStr(v) === undefined) return r() as string;
  if (v instanceof PyFloat) return pyFloatRepr(v.v);
  v = norm(v);
  if (typeof v === "string") return strRepr(v);
  if (v instanceof Set) return v.size ? `{${[...v].map(pyRepr).join(", ")}}` : "set()";
  if (v instanceof PyTuple) return v.length === 1 ? `(${pyRepr(v[0])},)` : `(${v.map(pyRepr).join(", ")})`;
  return pyStr(v);
}

/** Python's repr of a str: single quotes unless the text has ' and no ". */
function strRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/[\\\n\r\t]|[\x00-\x1f\x7f]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q;
}

export function pyStr(v: unknown): string {
  const f = hostMethod(v, PY_STR);
  if (f) return f() as string;
  if (v instanceof PyFloat) return pyFloatRepr(v.v);
  v = norm(v);
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return v;
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (v instanceof Set || v instanceof PyTuple) return pyRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return `{${Object.entries(v as object).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
  }
  return String(v);
}

export function pyEq(a: unknown, b: unknown): boolean {
  a = norm(a);
  b = norm(b);
  if (a instanceof Set && b instanceof Set) return a.size === b.size && [...a].every((x) => b.has(x));
  if (a instanceof PyTuple !== b instanceof PyTuple) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
  return a === b || (a == null && b == null);
}

export function iterate(v: unknown): unknown[] {
  v = norm(v);
  if (Array.isArray(v)) return v;
  if (typeof v === "string") return [...v];
  const items = hostIter(v);
  if (items) return items;
  if (v instanceof Map) return [...v.keys()];
  if (v instanceof Set) return [...v];
  if (v && typeof v === "object") {
    const keys = (v as { keys?: unknown }).keys;
    if (typeof keys === "function") return iterate(keys.call(v));
    return Object.keys(v);
  }
  throw new PyError("TypeError", `'${typeName(v)}' object is not iterable`);
}

export function typeName(v: unknown): string {
  const t = hostMethod(v, PY_TYPE);
  if (t) return t() as string;
  v = norm(v);
  if (v === null || v === undefined) return "NoneType";
  if (typeof v === "string") return "str";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "boolean") return "bool";
  if (v instanceof Set) return "set";
  if (v instanceof PyTuple) return "tuple";
  if (Array.isArray(v)) return "list";
  if (typeof v === "function") return "function";
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return "dict";
  return "object";
}

function contains(container: unknown, item: unknown): boolean {
  const has = hostMethod(container, "__contains__");
  if (has) return has(item) as boolean;
  const c = norm(container);
  if (typeof c === "string") return c.includes(String(norm(item)));
  if (Array.isArray(c)) return c.some((x) => pyEq(x, item));
  if (c instanceof Set || c instanceof Map) return c.has(norm(item));
  const items = hostIter(c);
  if (items) return items.some((x) => pyEq(x, item));
  if (c && typeof c === "object") return Object.prototype.hasOwnProperty.call(c, String(norm(item)));
  throw new PyError("TypeError", `argument of type '${typeName(c)}' is not iterable`);
}

function compare(a: unknown, b: unknown): number {
  a = norm(a);
  b = norm(b);
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compare(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (typeof a === "boolean" || typeof b === "boolean") return Number(a) - Number(b);
  throw new PyError("TypeError", `'<' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

/** printf-style formatting (str % args) with Python's conversions; anything else is an error, never left in the text. */
function percentFormat(fmt: string, arg: unknown): string {
  const mapping = typeof arg === "object" && arg !== null && Object.getPrototypeOf(arg) === Object.prototype ? (arg as Record<string, unknown>) : undefined;
  const args = arg instanceof PyTuple ? [...arg] : [arg];
  let used = false;
  const out = fmt.replace(/%(?:\(([^)]*)\))?([-+ #0]*)(\d+)?(?:\.(\d+))?(.?)/g, (_m, key: string | undefined, flags: string, w: string | undefined, prec: string | undefined, conv: string) => {
    if (conv === "%" && key === undefined) return "%";
    let v: unknown;
    if (key !== undefined) {
      if (!mapping) throw new PyError("TypeError", "format requires a mapping");
      if (!Object.prototype.hasOwnProperty.call(mapping, key)) throw new PyError("KeyError", pyRepr(key));
      v = mapping[key];
      used = true;
    } else {
      if (args.length === 0) throw new PyError("TypeError", "not enough arguments for format string");
      v = args.shift();
    }
    const n = () => {
      const x = norm(v);
      if (typeof x === "boolean") return Number(x);
      if (typeof x !== "number") throw new PyError("TypeError", `%${conv} format: a real number is required, not ${typeName(v)}`);
      return x;
    };
    let s: string;
    switch (conv) {
      case "s": s = pyStr(v); break;
      case "r": case "a": s = pyRepr(v); break;
      case "d": case "i": case "u": s = String(Math.trunc(n())); break;
      case "x": s = Math.trunc(n()).toString(16); break;
      case "X": s = Math.trunc(n()).toString(16).toUpperCase(); break;
      case "o": s = Math.trunc(n()).toString(8); break;
      case "f": case "F": s = n().toFixed(prec ? Number(prec) : 6); break;
      case "e": case "E": {
        s = n().toExponential(prec ? Number(prec) : 6).replace(/e([+-])(\d)$/, "e$10$2");
        if (conv === "E") s = s.toUpperCase();
        break;
      }
      case "c": s = typeof norm(v) === "string" ? String(norm(v)) : String.fromCharCode(n()); break;
      default: throw new PyError("ValueError", `unsupported format character '${conv}' in ${pyRepr(fmt)}`);
    }
    if (flags.includes("+") && /^\d/.test(s) && "diufFeE".includes(conv)) s = "+" + s;
    else if (flags.includes(" ") && /^\d/.test(s) && "diufFeE".includes(conv)) s = " " + s;
    const width = Number(w ?? 0);
    if (s.length < width) {
      if (flags.includes("-")) s = s.padEnd(width);
      else if (flags.includes("0") && "diuxXofFeE".includes(conv)) s = s.startsWith("-") ? "-" + s.slice(1).padStart(width - 1, "0") : s.padStart(width, "0");
      else s = s.padStart(width);
    }
    return s;
  });
  if (args.length > 0 && !(mapping && (used || args.length === 1))) throw new PyError("TypeError", "not all arguments converted during string formatting");
  return out;
}

/** A number operand (bool counts as int), and whether it is a float. */
function num(v: unknown): { n: number; f: boolean } | undefined {
  if (v instanceof PyFloat) return { n: v.v, f: true };
  const x = norm(v);
  if (typeof x === "number") return { n: x, f: !Number.isInteger(x) };
  if (typeof x === "boolean") return { n: Number(x), f: false };
  return undefined;
}

function binary(op: string, a: unknown, b: unknown): unknown {
  const x = norm(a);
  const y = norm(b);
  const p = num(a);
  const q = num(b);
  if (op === "+") {
    if (typeof x === "string" && typeof y === "string") return x + y;
    if (x instanceof PyTuple && y instanceof PyTuple) return PyTuple.from_([...x, ...y]);
    if (Array.isArray(x) && Array.isArray(y)) return [...x, ...y];
  } else if (op === "%" && typeof x === "string") {
    return percentFormat(x, b);
  } else if (op === "*") {
    if (typeof x === "string" && typeof y === "number") return x.repeat(Math.max(0, y));
    if (Array.isArray(x) && typeof y === "number") return Array.from({ length: Math.max(0, y) }, () => x).flat();
  } else if (x instanceof Set && y instanceof Set) {
    if (op === "|") return new Set([...x, ...y]);
    if (op === "&") return new Set([...x].filter((i) => y.has(i)));
    if (op === "-") return new Set([...x].filter((i) => !y.has(i)));
  }
  if (p && q) {
    const float = p.f || q.f || op === "/";
    if ((op === "/" || op === "//" || op === "%") && q.n === 0) throw new PyError("ZeroDivisionError", float && op !== "/" ? "float modulo" : "division by zero");
    let r: number;
    switch (op) {
      case "+": r = p.n + q.n; break;
      case "-": r = p.n - q.n; break;
      case "*": r = p.n * q.n; break;
      case "/": r = p.n / q.n; break;
      case "//": r = Math.floor(p.n / q.n); break;
      case "%": r = ((p.n % q.n) + q.n) % q.n; break;
      case "|": case "&":
        if (float) throw new PyError("TypeError", `unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
        return op === "|" ? p.n | q.n : p.n & q.n;
      case "**": r = p.n ** q.n; return float || q.n < 0 ? new PyFloat(r) : r;
      default: throw new PyError("TypeError", `unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
    }
    return float ? new PyFloat(r) : r;
  }
  throw new PyError("TypeError", `unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
}

const STRING_METHODS: Record<string, (s: string, ...a: unknown[]) => unknown> = {
  strip: (s, c) => (c == null ? s.trim() : stripChars(s, String(c), true, true)),
  lstrip: (s, c) => (c == null ? s.trimStart() : stripChars(s, String(c), true, false)),
  rstrip: (s, c) => (c == null ? s.trimEnd() : stripChars(s, String(c), false, true)),
  split: (s, sep, max) => pySplit(s, sep == null ? undefined : String(sep), max == null ? -1 : Number(max)),
  splitlines: (s) => s.split(/\r?\n/).filter((l, i, a) => !(i === a.length - 1 && l === "")),
  join: (s, items) => iterate(items).map((x) => {
    const v = norm(x);
    if (typeof v !== "string") throw new PyError("TypeError", `sequence item: expected str instance, ${typeName(v)} found`);
    return v;
  }).join(s),
  replace: (s, a, b) => s.split(String(norm(a))).join(String(norm(b))),
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  // Python's title(): a letter after a non-letter starts a word
  title: (s) => s.replace(/[A-Za-z]+/g, (w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()),
  capitalize: (s) => (s ? s[0]!.toUpperCase() + s.slice(1).toLowerCase() : s),
  startswith: (s, p) => s.startsWith(String(norm(p))),
  endswith: (s, p) => s.endsWith(String(norm(p))),
  find: (s, p) => s.indexOf(String(norm(p))),
  count: (s, p) => s.split(String(norm(p))).length - 1,
  isdigit: (s) => /^\d+$/.test(s),
  zfill: (s, n) => s.padStart(Number(n), "0"),
};

function stripChars(s: string, chars: string, left: boolean, right: boolean): string {
  let a = 0;
  let b = s.length;
  if (left) while (a < b && chars.includes(s[a]!)) a++;
  if (right) while (b > a && chars.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

const LIST_METHODS: Record<string, (l: unknown[], ...a: unknown[]) => unknown> = {
  index: (l, x) => {
    const i = l.findIndex((y) => pyEq(y, x));
    if (i < 0) throw new PyError("ValueError", `${pyRepr(x)} is not in list`);
    return i;
  },
  count: (l, x) => l.filter((y) => pyEq(y, x)).length,
  append: (l, x) => { l.push(x); return null; },
  extend: (l, x) => { l.push(...iterate(x)); return null; },
  insert: (l, i, x) => { l.splice(Number(i) < 0 ? Math.max(0, l.length + Number(i)) : Number(i), 0, x); return null; },
  pop: (l, i = -1) => {
    if (!l.length) throw new PyError("IndexError", "pop from empty list");
    const at = Number(i) < 0 ? l.length + Number(i) : Number(i);
    if (at < 0 || at >= l.length) throw new PyError("IndexError", "pop index out of range");
    return l.splice(at, 1)[0];
  },
  remove: (l, x) => {
    const i = l.findIndex((y) => pyEq(y, x));
    if (i < 0) throw new PyError("ValueError", "list.remove(x): x not in list");
    l.splice(i, 1);
    return null;
  },
  reverse: (l) => { l.reverse(); return null; },
  sort: (l, ...all) => {
    const [, kw] = splitKw(all);
    const sorted = sortItems(l, kw.key, kw.reverse);
    l.splice(0, l.length, ...sorted);
    return null;
  },
};

const SET_METHODS: Record<string, (l: Set<unknown>, ...a: unknown[]) => unknown> = {
  add: (l, x) => { l.add(norm(x)); return null; },
  union: (l, ...xs) => setOf([...l, ...xs.flatMap((x) => iterate(x))]),
  intersection: (l, x) => { const o = setOf(iterate(x)); return new Set([...l].filter((i) => o.has(i))); },
  difference: (l, x) => { const o = setOf(iterate(x)); return new Set([...l].filter((i) => !o.has(i))); },
  issubset: (l, x) => { const o = setOf(iterate(x)); return [...l].every((i) => o.has(i)); },
  issuperset: (l, x) => iterate(x).every((i) => l.has(norm(i))),
};

const DICT_METHODS: Record<string, (d: Record<string, unknown>, ...a: unknown[]) => unknown> = {
  get: (d, k, dflt = null) => (Object.prototype.hasOwnProperty.call(d, String(norm(k))) ? d[String(norm(k))] : dflt),
  keys: (d) => Object.keys(d),
  values: (d) => Object.values(d),
  items: (d) => Object.entries(d).map((kv) => PyTuple.from_(kv)),
  setdefault: (d, k, dflt = null) => {
    const key = String(norm(k));
    if (!Object.prototype.hasOwnProperty.call(d, key)) d[key] = dflt;
    return d[key];
  },
  update: (d, x) => { Object.assign(d, x); return null; },
  pop: (d, k, ...dflt) => {
    const key = String(norm(k));
    if (Object.prototype.hasOwnProperty.call(d, key)) { const v = d[key]; delete d[key]; return v; }
    if (dflt.length) return dflt[0];
    throw new PyError("KeyError", pyRepr(k));
  },
  copy: (d) => ({ ...d }),
};

function own<T>(table: Record<string, T>, name: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
}

/** Genshi's lookup: attribute first, then item (so dict.key works), else UndefinedError. */
export function getAttr(o: unknown, name: string): unknown {
  if (name.startsWith("__")) throw new PyError("AttributeError", `access to "${name}" is not allowed`);
  const v = hostStr(o) !== undefined && !(name in (o as object)) ? norm(o) : o;
  if (v === null || v === undefined) throw new PyError("UndefinedError", `None has no member named "${name}"`);
  if (typeof v === "string") {
    const m = own(STRING_METHODS, name);
    if (m) return (...a: unknown[]) => m(v, ...a);
  } else if (v instanceof Set) {
    const m = own(SET_METHODS, name);
    if (m) return (...a: unknown[]) => m(v, ...a);
  } else if (Array.isArray(v)) {
    const m = own(LIST_METHODS, name);
    if (m) return (...a: unknown[]) => m(v, ...a);
  } else if (typeof v === "object") {
    if (name in (v as object) && !(name in Object.prototype)) {
      const x = (v as Record<string, unknown>)[name];
      return typeof x === "function" ? (x as (...a: unknown[]) => unknown).bind(v) : x;
    }
    const m = own(DICT_METHODS, name);
    if (m) return (...a: unknown[]) => m(v as Record<string, unknown>, ...a);
  }
  throw new PyError("UndefinedError", `${pyRepr(typeof v === "object" ? String(v) : v)} has no member named "${name}"`);
}

function getItem(o: unknown, k: unknown): unknown {
  const v = norm(o);
  const key = norm(k);
  if (Array.isArray(v) || typeof v === "string") {
    if (typeof key !== "number") throw new PyError("TypeError", `indices must be integers, not ${typeName(key)}`);
    const i = key < 0 ? v.length + key : key;
    if (i < 0 || i >= v.length) throw new PyError("IndexError", "index out of range");
    return v[i];
  }
  const gi = hostMethod(o, "__getitem__");
  if (gi) return gi(key);
  if (v && typeof v === "object") {
    if (Object.prototype.hasOwnProperty.call(v, String(key))) return (v as Record<string, unknown>)[String(key)];
    throw new PyError("KeyError", pyRepr(key));
  }
  throw new PyError("TypeError", `'${typeName(v)}' object is not subscriptable`);
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

function callPy(f: unknown, ...args: unknown[]): unknown {
  if (typeof f !== "function") throw new PyError("TypeError", `'${typeName(f)}' object is not callable`);
  return (f as (...a: unknown[]) => unknown)(...args);
}

/** sorted()/list.sort(): stable, optional key function, reverse keeps equal items in order (as Python). */
export function sortItems(items: unknown[], key: unknown, reverse: unknown): unknown[] {
  const keyed = items.map((v) => ({ v, k: key === undefined || key === null ? v : callPy(key, v) }));
  keyed.sort((a, b) => (truthy(reverse) ? compare(b.k, a.k) : compare(a.k, b.k)));
  return keyed.map((x) => x.v);
}

function extreme(all: unknown[], sign: number): unknown {
  const [xs, kw] = splitKw(all);
  const items = xs.length === 1 ? iterate(xs[0]) : xs;
  if (!items.length) {
    if ("default" in kw) return kw.default;
    throw new PyError("ValueError", `${sign < 0 ? "min" : "max"}() arg is an empty sequence`);
  }
  const k = (v: unknown) => (kw.key === undefined || kw.key === null ? v : callPy(kw.key, v));
  return items.reduce((a, b) => (compare(k(b), k(a)) * sign > 0 ? b : a));
}

/** round(x, n) on the exact binary value of x, ties to even (toFixed is exact but rounds ties up). */
function roundDigits(x: number, n: number): number {
  if (n < 0 || n > 40 || !Number.isFinite(x)) return Number(x.toFixed(Math.max(0, Math.min(n, 100))));
  const exact = Math.abs(x).toFixed(Math.min(100, n + 60));
  const cut = exact.indexOf(".") + 1 + n;
  const tail = exact.slice(n === 0 ? exact.indexOf(".") + 1 : cut);
  if (/^50*$/.test(tail)) {
    const kept = exact.slice(0, n === 0 ? exact.indexOf(".") : cut).replace(/\.$/, "");
    const last = Number(kept[kept.length - 1]);
    const down = Number(kept);
    const r = last % 2 === 0 ? down : Number((down + 10 ** -n).toFixed(n));
    return x < 0 ? -r : r;
  }
  return Number(x.toFixed(n));
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A Python function (def or lambda) over the defining scope: locals in a copy, globals read through. */
export function makeFunction(name: string, params: Param[], scope: Scope, body: (inner: Scope) => unknown): (...a: unknown[]) => unknown {
  const fn = (...all: unknown[]) => {
    const [args, kw] = splitKw(all);
    if (args.length > params.length) throw new PyError("TypeError", `${name}() takes ${params.length} positional arguments but ${args.length} were given`);
    const inner: Scope = new Map(scope);
    params.forEach((p, i) => {
      if (i < args.length) inner.set(p.name, args[i]);
      else if (Object.prototype.hasOwnProperty.call(kw, p.name)) inner.set(p.name, kw[p.name]);
      else if (p.dflt) inner.set(p.name, evaluate(p.dflt, scope));
      else throw new PyError("TypeError", `${name}() missing required argument: '${p.name}'`);
    });
    for (const k of Object.keys(kw)) if (!params.some((p) => p.name === k)) throw new PyError("TypeError", `${name}() got an unexpected keyword argument '${k}'`);
    return body(inner);
  };
  return fn;
}

const BUILTINS: Record<string, (...a: unknown[]) => unknown> = {
  len: (x) => {
    const v = norm(x);
    if (typeof v === "string" || Array.isArray(v)) return v.length;
    const n = hostLen(x);
    if (n !== undefined) return n;
    if (v instanceof Set || v instanceof Map) return v.size;
    if (v && typeof v === "object") return Object.keys(v).length;
    throw new PyError("TypeError", `object of type '${typeName(v)}' has no len()`);
  },
  str: (x = "") => pyStr(x),
  repr: (x) => pyRepr(x),
  int: (x = 0) => {
    const v = norm(x);
    const n = typeof v === "string" ? (/^\s*[-+]?\d+\s*$/.test(v) ? Number.parseInt(v, 10) : NaN) : Math.trunc(Number(v));
    if (Number.isNaN(n)) throw new PyError("ValueError", `invalid literal for int(): ${pyRepr(v)}`);
    return n;
  },
  float: (x = 0) => {
    const v = norm(x);
    const n = typeof v === "string" ? (/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v) ? Number(v) : NaN) : Number(v);
    if (Number.isNaN(n)) throw new PyError("ValueError", `could not convert string to float: ${pyRepr(x)}`);
    return new PyFloat(n);
  },
  bool: (x) => truthy(x),
  list: (x = []) => [...iterate(x)],
  tuple: (x = []) => PyTuple.from_(iterate(x)),
  set: (x = []) => setOf(iterate(x)),
  sorted: (...all) => {
    const [[x], kw] = splitKw(all);
    return sortItems(iterate(x), kw.key, kw.reverse);
  },
  reversed: (x) => [...iterate(x)].reverse(),
  range: (a, b, s) => {
    const [start, stop, step] = b === undefined ? [0, Number(a), 1] : [Number(a), Number(b), s === undefined ? 1 : Number(s)];
    const out: number[] = [];
    if (step === 0) throw new PyError("ValueError", "range() arg 3 must not be zero");
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) {
      out.push(i);
      if (out.length > 1_000_000) throw new PyError("MemoryError", "range too large");
    }
    return out;
  },
  enumerate: (x, start = 0) => iterate(x).map((v, i) => PyTuple.from_([i + Number(start), v])),
  zip: (...xs) => {
    const ls = xs.map(iterate);
    const n = Math.min(...ls.map((l) => l.length));
    return Array.from({ length: n }, (_, i) => PyTuple.from_(ls.map((l) => l[i])));
  },
  min: (...all) => extreme(all, -1),
  max: (...all) => extreme(all, 1),
  sum: (x, start = 0) => iterate(x).reduce((a: unknown, b) => binary("+", a, b), start),
  any: (x) => iterate(x).some(truthy),
  all: (x) => iterate(x).every(truthy),
  abs: (x) => (x instanceof PyFloat ? new PyFloat(Math.abs(x.v)) : Math.abs(Number(norm(x)))),
  round: (x, n) => {
    const v = Number(norm(x));
    if (n === undefined || n === null) return roundHalfEven(v);
    const r = roundDigits(v, Number(n));
    return x instanceof PyFloat || !Number.isInteger(v) ? new PyFloat(r) : r;
  },
  dict: (x) => (x === undefined ? {} : Object.fromEntries(iterate(x) as Array<[string, unknown]>)),
  hasattr: (o, n) => { try { getAttr(o, String(n)); return true; } catch { return false; } },
  getattr: (o, n, d) => { try { return getAttr(o, String(n)); } catch (e) { if (d !== undefined) return d; throw e; } },
  Exception: (m = "") => new PyException("Exception", m),
  ValueError: (m = "") => new PyException("ValueError", m),
  TypeError: (m = "") => new PyException("TypeError", m),
  KeyError: (m = "") => new PyException("KeyError", m),
  RuntimeError: (m = "") => new PyException("RuntimeError", m),
  isinstance: () => { throw new PyError("NameError", "isinstance is not supported"); },
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
      throw new PyError("UndefinedError", `"${n.n}" not defined`);
    }
    case "attr": return getAttr(evaluate(n.o, scope), n.n);
    case "item": return getItem(evaluate(n.o, scope), evaluate(n.i, scope));
    case "slice": {
      const v = norm(evaluate(n.o, scope));
      if (!Array.isArray(v) && typeof v !== "string") throw new PyError("TypeError", `'${typeName(v)}' object is not subscriptable`);
      const len = v.length;
      const idx = (x: Node | undefined, d: number) => {
        if (!x) return d;
        const i = Number(norm(evaluate(x, scope)));
        return i < 0 ? Math.max(0, len + i) : Math.min(i, len);
      };
      const step = n.s ? Number(norm(evaluate(n.s, scope))) : 1;
      if (step === 1) return v.slice(idx(n.a, 0), idx(n.b, len));
      const items = [...v];
      const out: unknown[] = [];
      if (step > 0) for (let i = idx(n.a, 0); i < idx(n.b, len); i += step) out.push(items[i]);
      else for (let i = n.a ? idx(n.a, len - 1) : len - 1; i > (n.b ? idx(n.b, -1) : -1); i += step) out.push(items[i]);
      return typeof v === "string" ? out.join("") : out;
    }
    case "call": {
      const f = evaluate(n.f, scope);
      if (typeof f !== "function") throw new PyError("TypeError", `'${typeName(f)}' object is not callable`);
      const args = n.args.map((a) => evaluate(a, scope));
      if (n.kw.length) args.push({ __kw: true, ...Object.fromEntries(n.kw.map(([k, v]) => [k, evaluate(v, scope)])) });
      return (f as (...a: unknown[]) => unknown)(...args);
    }
    case "list": {
      const items = n.items.map((x) => evaluate(x, scope));
      return n.kind === "tuple" ? PyTuple.from_(items) : n.kind === "set" ? setOf(items) : items;
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
      if (n.op === "not") return !truthy(a);
      const x = norm(a);
      if (typeof x !== "number") throw new PyError("TypeError", `bad operand type for unary ${n.op}: '${typeName(x)}'`);
      const r = n.op === "-" ? -x : x;
      return a instanceof PyFloat ? new PyFloat(r) : r;
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
          case "is": ok = norm(left) === norm(right) || (left == null && right == null); break;
          case "is not": ok = !(norm(left) === norm(right) || (left == null && right == null)); break;
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
  if (items.length !== targets.length) throw new PyError("ValueError", `expected ${targets.length} values to unpack, got ${items.length}`);
  targets.forEach((t, i) => scope.set(t, items[i]));
}
