// A safe subset of Python expressions for Genshi templates: names, literals, attribute and
// item access, calls, comprehensions, operators, and simple assignments for {% python %}.
// No imports, no def/class, no access to the host: names resolve only in the template scope.
import { ProbeString, pySplit } from "./template-data.js";
import { XmlView } from "./xml-view.js";

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

const OPS = ["**", "//", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", "{", "}", ",", ":", ".", "=", ";"];

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
    const num = /^(\d+\.\d*|\.\d+|\d+)/.exec(src.slice(i));
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
  | { k: "list"; items: Node[] }
  | { k: "dict"; items: Array<[Node, Node]> }
  | { k: "comp"; e: Node; targets: string[]; it: Node; conds: Node[]; dict?: Node }
  | { k: "un"; op: string; a: Node }
  | { k: "bin"; op: string; a: Node; b: Node }
  | { k: "cmp"; first: Node; rest: Array<[string, Node]> }
  | { k: "and" | "or"; a: Node; b: Node }
  | { k: "ifelse"; c: Node; a: Node; b: Node }
  /** Evaluated by a host callback (Cheetah's NameMapper lookups); only our parsers build these. */
  | { k: "hook"; f: (scope: Scope) => unknown };

export type Stmt = { k: "assign"; targets: string[]; e: Node } | { k: "expr"; e: Node };

class Parser {
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
    return { k: "list", items };
  }
  or(): Node { let a = this.and(); while (this.isKw("or")) { this.next(); a = { k: "or", a, b: this.and() }; } return a; }
  and(): Node { let a = this.not(); while (this.isKw("and")) { this.next(); a = { k: "and", a, b: this.not() }; } return a; }
  not(): Node { if (this.isKw("not")) { this.next(); return { k: "un", op: "not", a: this.not() }; } return this.cmp(); }
  cmp(): Node {
    const first = this.arith();
    const rest: Array<[string, Node]> = [];
    for (;;) {
      const t = this.peek();
      let op: string | undefined;
      if (t.t === "op" && ["==", "!=", "<", ">", "<=", ">="].includes(t.v)) { op = t.v; this.next(); }
      else if (this.isKw("in")) { op = "in"; this.next(); }
      else if (this.isKw("not") && this.peek(1).v === "in") { op = "not in"; this.next(); this.next(); }
      else if (this.isKw("is")) { this.next(); op = "is"; if (this.isKw("not")) { this.next(); op = "is not"; } }
      if (!op) break;
      rest.push([op, this.arith()]);
    }
    return rest.length ? { k: "cmp", first, rest } : first;
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
    this.expect("for");
    const targets = this.targets();
    this.expect("in");
    const it = this.or();
    const conds: Node[] = [];
    while (this.isKw("if")) { this.next(); conds.push(this.or()); }
    return { k: "comp", e, targets, it, conds, dict };
  }
  atom(): Node {
    const t = this.next();
    if (t.t === "num") return { k: "const", v: Number(t.v) };
    if (t.t === "str") {
      let s = t.v;
      while (this.peek().t === "str") s += this.next().v; // implicit concatenation
      return { k: "const", v: s };
    }
    if (t.t === "name") {
      if (t.v === "None") return { k: "const", v: null };
      if (t.v === "True") return { k: "const", v: true };
      if (t.v === "False") return { k: "const", v: false };
      if (["lambda", "import", "def", "class", "yield", "await", "exec", "eval"].includes(t.v)) throw new PyError("SyntaxError", `"${t.v}" is not supported in templates`);
      return { k: "name", n: t.v };
    }
    if (t.t === "op" && (t.v === "(" || t.v === "[")) {
      const close = t.v === "(" ? ")" : "]";
      if (this.isOp(close)) { this.next(); return { k: "list", items: [] }; }
      const first = this.expr();
      if (this.isKw("for")) { const c = this.comprehension(first); this.expect(close); return c; }
      if (t.v === "(" && this.isOp(")")) { this.next(); return first; }
      const items = [first];
      while (this.isOp(",")) { this.next(); if (this.isOp(close)) break; items.push(this.expr()); }
      this.expect(close);
      return { k: "list", items };
    }
    if (t.t === "op" && t.v === "{") {
      const items: Array<[Node, Node]> = [];
      while (!this.isOp("}")) {
        const key = this.expr();
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

/** Simple statements, one per line: `name = expr`, `a, b = expr`, or a bare expression. */
export function parseSuite(src: string): Stmt[] {
  const p = new Parser(tokenize(src, true));
  const out: Stmt[] = [];
  while (!p.atEnd()) {
    if (p.peek().t === "nl" || p.isOp(";")) { p.next(); continue; }
    const t0 = p.peek();
    if (t0.t === "name" && ["if", "for", "while", "def", "class", "import", "from", "try", "with", "return", "del", "global"].includes(t0.v) && !(p.peek(1).t === "op" && p.peek(1).v === "=")) {
      throw new PyError("SyntaxError", `"${t0.v}" statements are not supported in {% python %} blocks`);
    }
    // Assignment when a top-level "=" follows a target list.
    let j = 0;
    let isAssign = false;
    while (p.peek(j).t === "name" || (p.peek(j).t === "op" && [",", "(", ")"].includes(p.peek(j).v))) j++;
    if (j > 0 && p.peek(j).t === "op" && p.peek(j).v === "=") isAssign = true;
    if (isAssign) {
      const targets = p.targets();
      p.expect("=");
      out.push({ k: "assign", targets, e: p.exprList() });
    } else out.push({ k: "expr", e: p.exprList() });
    if (!p.atEnd() && p.peek().t !== "nl" && !p.isOp(";")) throw new PyError("SyntaxError", `unexpected "${p.peek().v}"`);
  }
  return out;
}

// ---------------------------------------------------------------- values
export type Scope = Map<string, unknown>;

function norm(v: unknown): unknown {
  return v instanceof ProbeString ? v.value : v;
}

export function truthy(v: unknown): boolean {
  v = norm(v);
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map || v instanceof Set) return v.size > 0;
  if (v instanceof XmlView) return v.length > 0;
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.keys(v as object).length > 0;
  return true;
}

export function pyRepr(v: unknown): string {
  v = norm(v);
  if (typeof v === "string") return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n")}'`;
  return pyStr(v);
}

export function pyStr(v: unknown): string {
  v = norm(v);
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return v;
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return `{${Object.entries(v as object).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
  }
  return String(v);
}

function pyEq(a: unknown, b: unknown): boolean {
  a = norm(a);
  b = norm(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
  return a === b || (a == null && b == null);
}

export function iterate(v: unknown): unknown[] {
  v = norm(v);
  if (Array.isArray(v)) return v;
  if (typeof v === "string") return [...v];
  if (v instanceof XmlView) return v.getchildren();
  if (v instanceof Map) return [...v.keys()];
  if (v instanceof Set) return [...v];
  if (v && typeof v === "object") {
    const keys = (v as { keys?: unknown }).keys;
    if (typeof keys === "function") return iterate(keys.call(v));
    return Object.keys(v);
  }
  throw new PyError("TypeError", `'${typeName(v)}' object is not iterable`);
}

function typeName(v: unknown): string {
  v = norm(v);
  if (v === null || v === undefined) return "NoneType";
  if (typeof v === "string") return "str";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "list";
  return "object";
}

function contains(container: unknown, item: unknown): boolean {
  const c = norm(container);
  if (typeof c === "string") return c.includes(String(norm(item)));
  if (Array.isArray(c)) return c.some((x) => pyEq(x, item));
  if (c instanceof Set || c instanceof Map) return c.has(norm(item));
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

function percentFormat(fmt: string, arg: unknown): string {
  const args = Array.isArray(arg) ? [...arg] : [arg];
  const out = fmt.replace(/%([-0 ]?\d*)(?:\.(\d+))?([sdrif%])/g, (_m, flags: string, prec: string | undefined, conv: string) => {
    if (conv === "%") return "%";
    if (args.length === 0) throw new PyError("TypeError", "not enough arguments for format string");
    const v = args.shift();
    let s: string;
    if (conv === "s") s = pyStr(v);
    else if (conv === "r") s = pyRepr(v);
    else if (conv === "f") s = Number(norm(v)).toFixed(prec ? Number(prec) : 6);
    else s = String(Math.trunc(Number(norm(v))));
    const width = Number.parseInt(flags.replace(/^[-0 ]/, "") || "0", 10);
    if (s.length < width) s = flags.startsWith("-") ? s.padEnd(width) : s.padStart(width, flags.startsWith("0") ? "0" : " ");
    return s;
  });
  if (args.length > 0) throw new PyError("TypeError", "not all arguments converted during string formatting");
  return out;
}

function binary(op: string, a: unknown, b: unknown): unknown {
  const x = norm(a);
  const y = norm(b);
  if (op === "+") {
    if (typeof x === "string" && typeof y === "string") return x + y;
    if (typeof x === "number" && typeof y === "number") return x + y;
    if (Array.isArray(x) && Array.isArray(y)) return [...x, ...y];
  } else if (op === "%" && typeof x === "string") {
    return percentFormat(x, y);
  } else if (op === "*") {
    if (typeof x === "string" && typeof y === "number") return x.repeat(Math.max(0, y));
    if (Array.isArray(x) && typeof y === "number") return Array.from({ length: Math.max(0, y) }, () => x).flat();
    if (typeof x === "number" && typeof y === "number") return x * y;
  } else if (typeof x === "number" && typeof y === "number") {
    if ((op === "/" || op === "//" || op === "%") && y === 0) throw new PyError("ZeroDivisionError", "division by zero");
    if (op === "-") return x - y;
    if (op === "/") return x / y;
    if (op === "//") return Math.floor(x / y);
    if (op === "%") return ((x % y) + y) % y;
    if (op === "**") return x ** y;
  }
  throw new PyError("TypeError", `unsupported operand type(s) for ${op}: '${typeName(x)}' and '${typeName(y)}'`);
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
  title: (s) => s.replace(/\w\S*/g, (w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()),
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
};

const DICT_METHODS: Record<string, (d: Record<string, unknown>, ...a: unknown[]) => unknown> = {
  get: (d, k, dflt = null) => (Object.prototype.hasOwnProperty.call(d, String(norm(k))) ? d[String(norm(k))] : dflt),
  keys: (d) => Object.keys(d),
  values: (d) => Object.values(d),
  items: (d) => Object.entries(d),
};

function own<T>(table: Record<string, T>, name: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
}

/** Genshi's lookup: attribute first, then item (so dict.key works), else UndefinedError. */
export function getAttr(o: unknown, name: string): unknown {
  if (name.startsWith("__")) throw new PyError("AttributeError", `access to "${name}" is not allowed`);
  const v = o instanceof ProbeString && !(name in o) ? o.value : o;
  if (v === null || v === undefined) throw new PyError("UndefinedError", `None has no member named "${name}"`);
  if (typeof v === "string") {
    const m = own(STRING_METHODS, name);
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
  if (v instanceof XmlView && typeof key === "number") return v.getchildren()[key];
  if (v && typeof v === "object") {
    if (Object.prototype.hasOwnProperty.call(v, String(key))) return (v as Record<string, unknown>)[String(key)];
    throw new PyError("KeyError", pyRepr(key));
  }
  throw new PyError("TypeError", `'${typeName(v)}' object is not subscriptable`);
}

const BUILTINS: Record<string, (...a: unknown[]) => unknown> = {
  len: (x) => {
    const v = norm(x);
    if (typeof v === "string" || Array.isArray(v)) return v.length;
    if (v instanceof XmlView) return v.length;
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
    const n = Number(norm(x));
    if (Number.isNaN(n)) throw new PyError("ValueError", `could not convert string to float: ${pyRepr(x)}`);
    return n;
  },
  bool: (x) => truthy(x),
  list: (x = []) => [...iterate(x)],
  tuple: (x = []) => [...iterate(x)],
  set: (x = []) => [...new Set(iterate(x).map(norm))],
  sorted: (x, ...rest) => {
    const kw = (rest[rest.length - 1] ?? {}) as { __kw?: boolean; reverse?: unknown };
    const out = [...iterate(x)].sort(compare);
    return kw.__kw && truthy(kw.reverse) ? out.reverse() : out;
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
  enumerate: (x, start = 0) => iterate(x).map((v, i) => [i + Number(start), v]),
  zip: (...xs) => {
    const ls = xs.map(iterate);
    const n = Math.min(...ls.map((l) => l.length));
    return Array.from({ length: n }, (_, i) => ls.map((l) => l[i]));
  },
  min: (...xs) => (xs.length === 1 ? iterate(xs[0]) : xs).reduce((a, b) => (compare(b, a) < 0 ? b : a)),
  max: (...xs) => (xs.length === 1 ? iterate(xs[0]) : xs).reduce((a, b) => (compare(b, a) > 0 ? b : a)),
  sum: (x, start = 0) => iterate(x).reduce((a: unknown, b) => binary("+", a, b), start),
  any: (x) => iterate(x).some(truthy),
  all: (x) => iterate(x).every(truthy),
  abs: (x) => Math.abs(Number(norm(x))),
  round: (x, n = 0) => Number(Number(norm(x)).toFixed(Number(n))),
  dict: (x) => (x === undefined ? {} : Object.fromEntries(iterate(x) as Array<[string, unknown]>)),
  hasattr: (o, n) => { try { getAttr(o, String(n)); return true; } catch { return false; } },
  getattr: (o, n, d) => { try { return getAttr(o, String(n)); } catch (e) { if (d !== undefined) return d; throw e; } },
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
    case "list": return n.items.map((x) => evaluate(x, scope));
    case "dict": return Object.fromEntries(n.items.map(([k, v]) => [pyStr(evaluate(k, scope)), evaluate(v, scope)]));
    case "comp": {
      const out: unknown[] = [];
      const obj: Record<string, unknown> = {};
      for (const item of iterate(evaluate(n.it, scope))) {
        const inner = new Map(scope);
        bindTargets(inner, n.targets, item);
        if (!n.conds.every((c) => truthy(evaluate(c, inner)))) continue;
        if (n.dict) obj[pyStr(evaluate(n.dict, inner))] = evaluate(n.e, inner);
        else out.push(evaluate(n.e, inner));
      }
      return n.dict ? obj : out;
    }
    case "un": {
      const a = evaluate(n.a, scope);
      if (n.op === "not") return !truthy(a);
      const x = norm(a);
      if (typeof x !== "number") throw new PyError("TypeError", `bad operand type for unary ${n.op}: '${typeName(x)}'`);
      return n.op === "-" ? -x : x;
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

export function execute(stmts: Stmt[], scope: Scope): void {
  for (const s of stmts) {
    const v = evaluate(s.e, scope);
    if (s.k === "assign") bindTargets(scope, s.targets, v);
  }
}
