// Python statements for Genshi's {% python %} blocks (and <?python ?> in markup templates), in
// the forms Bcfg2's documentation shows: assignments (also to d[k], tuples, chains), augmented
// assignment, if/elif/else, for/else with break/continue, def with return, pass, raise, and
// `from genshi.template import TemplateError`. Anything else (import, while, class, try, with,
// global, del) is refused at compile time, so a template never half-runs an unknown statement.
import { evaluate, exception, makeFunction, Parser, tokenize, type Node, type Param, type Scope } from "./expr.js";
import { iterate, primitive, PyException, pyRepr, truthy } from "./values.js";

type Target = { k: "name"; n: string } | { k: "tuple"; items: Target[] } | { k: "item"; o: Node; i: Node };

export type Stmt = { line: number } & (
  | { k: "expr"; e: Node }
  | { k: "assign"; targets: Target[]; e: Node }
  | { k: "aug"; target: Target; op: string; e: Node }
  | { k: "if"; branches: Array<[Node, Stmt[]]>; orelse: Stmt[] }
  | { k: "for"; target: Target; it: Node; body: Stmt[]; orelse: Stmt[] }
  | { k: "def"; name: string; params: Param[]; body: Stmt[] }
  | { k: "return"; e?: Node }
  | { k: "raise"; e?: Node }
  | { k: "import"; name: string }
  | { k: "pass" | "break" | "continue" }
);

/** A statement error, with the 1-based line inside the suite where it happened. */
export class SuiteError extends Error {
  constructor(
    readonly error: PyException,
    readonly line: number,
  ) {
    super(error.message, { cause: error });
  }
}

interface Logical {
  text: string;
  indent: number;
  line: number;
}

/** Splits source into logical lines (brackets, strings and backslashes join physical lines). */
function logicalLines(src: string): Logical[] {
  const out: Logical[] = [];
  let buf = "";
  let depth = 0;
  let quote = "";
  let line = 1;
  let start = 1;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (quote) {
      buf += c;
      if (c === "\\") buf += src[++i] ?? "";
      else if (src.startsWith(quote, i)) {
        buf += quote.slice(1);
        i += quote.length - 1;
        quote = "";
      }
      if (c === "\n") line++;
      continue;
    }
    if (c === "#") {
      while (i + 1 < src.length && src[i + 1] !== "\n") i++;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = src.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      buf += quote;
      i += quote.length - 1;
      continue;
    }
    if (c === "\\" && src[i + 1] === "\n") {
      i++;
      line++;
      buf += " ";
      continue;
    }
    if ("([{".includes(c)) depth++;
    if (")]}".includes(c)) depth--;
    if (c === "\n") {
      line++;
      if (depth > 0) {
        buf += " ";
        continue;
      }
      push();
      start = line;
      continue;
    }
    buf += c;
  }
  if (quote) throw new SuiteError(new PyException("SyntaxError", "unterminated string literal"), start);
  push();
  return out;

  function push() {
    if (buf.trim()) {
      const indent = /^[ \t]*/.exec(buf)![0].replace(/\t/g, "        ").length;
      out.push({ text: buf.trim(), indent, line: start });
    }
    buf = "";
  }
}

const REFUSED = new Set(["import", "while", "class", "try", "except", "finally", "with", "global", "nonlocal", "del", "yield", "async", "await", "lambda", "assert", "exec", "print"]);
const AUG = new Set(["+=", "-=", "*=", "/=", "//=", "%=", "|=", "&=", "**="]);

function toTarget(n: Node): Target {
  if (n.k === "name") return { k: "name", n: n.n };
  if (n.k === "list" && n.kind !== "set") return { k: "tuple", items: n.items.map(toTarget) };
  if (n.k === "item") return { k: "item", o: n.o, i: n.i };
  throw new PyException("SyntaxError", "cannot assign to this expression (names, tuples of names and x[key] only)");
}

/** Index of the header's ":" at bracket depth 0 (outside strings), or -1. */
function headerColon(text: string): number {
  let depth = 0;
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === "'" || c === '"') quote = c;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    else if (c === ":" && depth === 0) return i;
  }
  return -1;
}

class SuiteParser {
  i = 0;
  constructor(private readonly lines: Logical[]) {}

  block(indent: number): Stmt[] {
    const out: Stmt[] = [];
    while (this.i < this.lines.length) {
      const l = this.lines[this.i]!;
      if (l.indent < indent) break;
      if (l.indent > indent) throw new SuiteError(new PyException("IndentationError", "unexpected indent"), l.line);
      this.i++;
      try {
        out.push(...this.statement(l));
      } catch (e) {
        if (e instanceof PyException) throw new SuiteError(e, l.line);
        throw e;
      }
    }
    return out;
  }

  /** The body after a header: the rest of its line, or the more indented lines that follow. */
  private body(l: Logical, rest: string): Stmt[] {
    if (rest.trim()) return this.simple({ ...l, text: rest.trim() });
    const next = this.lines[this.i];
    if (!next || next.indent <= l.indent) throw new PyException("IndentationError", "expected an indented block");
    return this.block(next.indent);
  }

  private header(l: Logical): { head: string; rest: string } {
    const c = headerColon(l.text);
    if (c < 0) throw new PyException("SyntaxError", `expected ":" in ${pyRepr(l.text)}`);
    return { head: l.text.slice(0, c), rest: l.text.slice(c + 1) };
  }

  /** An else/elif clause continuing the compound statement at `indent`, if one follows. */
  private clause(indent: number, word: string): Logical | undefined {
    const l = this.lines[this.i];
    if (l && l.indent === indent && new RegExp(`^${word}\\b`).test(l.text)) {
      this.i++;
      return l;
    }
    return undefined;
  }

  private statement(l: Logical): Stmt[] {
    const word = /^[A-Za-z_]\w*/.exec(l.text)?.[0] ?? "";
    const line = l.line;
    if (word === "if") {
      const branches: Array<[Node, Stmt[]]> = [];
      let h = this.header(l);
      branches.push([expr(h.head.slice(2)), this.body(l, h.rest)]);
      let orelse: Stmt[] = [];
      for (;;) {
        const c = this.clause(l.indent, "elif|else");
        if (!c) break;
        h = this.header(c);
        if (c.text.startsWith("elif")) branches.push([expr(h.head.slice(4)), this.body(c, h.rest)]);
        else {
          if (h.head.trim() !== "else") throw new PyException("SyntaxError", "invalid syntax");
          orelse = this.body(c, h.rest);
          break;
        }
      }
      return [{ k: "if", branches, orelse, line }];
    }
    if (word === "for") {
      const h = this.header(l);
      const p = new Parser(tokenize(h.head.slice(3), false));
      const names = p.targets();
      const target: Target = names.length === 1 ? { k: "name", n: names[0]! } : { k: "tuple", items: names.map((n) => ({ k: "name", n })) };
      p.expect("in");
      const it = p.exprList();
      if (!p.atEnd()) throw new PyException("SyntaxError", `unexpected "${p.peek().v}"`);
      const body = this.body(l, h.rest);
      const e = this.clause(l.indent, "else");
      const orelse = e ? this.body(e, this.header(e).rest) : [];
      return [{ k: "for", target, it, body, orelse, line }];
    }
    if (word === "def") {
      const h = this.header(l);
      const p = new Parser(tokenize(h.head.slice(3), false));
      const name = p.next();
      if (name.t !== "name") throw new PyException("SyntaxError", "expected a function name");
      p.expect("(");
      const params = p.params(")");
      p.expect(")");
      if (!p.atEnd()) throw new PyException("SyntaxError", `unexpected "${p.peek().v}"`);
      return [{ k: "def", name: name.v, params, body: this.body(l, h.rest), line }];
    }
    if (word === "elif" || word === "else") throw new PyException("SyntaxError", `"${word}" without a matching if/for`);
    return this.simple(l);
  }

  /** One or more simple statements separated by ";". */
  private simple(l: Logical): Stmt[] {
    const out: Stmt[] = [];
    const p = new Parser(tokenize(l.text, false));
    const line = l.line;
    while (!p.atEnd()) {
      if (p.isOp(";")) {
        p.next();
        continue;
      }
      const t = p.peek();
      const kw = t.t === "name" ? t.v : "";
      if (kw === "pass" || kw === "break" || kw === "continue") {
        p.next();
        out.push({ k: kw, line });
      } else if (kw === "return") {
        p.next();
        out.push(p.atEnd() || p.isOp(";") ? { k: "return", line } : { k: "return", e: p.exprList(), line });
      } else if (kw === "raise") {
        p.next();
        out.push(p.atEnd() || p.isOp(";") ? { k: "raise", line } : { k: "raise", e: p.expr(), line });
      } else if (kw === "from") {
        const m = /^from\s+genshi\.template\s+import\s+TemplateError\s*$/.exec(l.text);
        if (!m) throw new PyException("ImportError", "imports are not supported in templates (only `from genshi.template import TemplateError`)");
        return [{ k: "import", name: "TemplateError", line }];
      } else if (REFUSED.has(kw) && !(p.peek(1).t === "op" && (p.peek(1).v === "=" || AUG.has(p.peek(1).v)))) {
        throw new PyException("SyntaxError", `"${kw}" statements are not supported in templates`);
      } else {
        const first = p.exprList();
        if (p.peek().t === "op" && AUG.has(p.peek().v)) {
          const op = p.next().v.slice(0, -1);
          out.push({ k: "aug", target: toTarget(first), op, e: p.exprList(), line });
        } else if (p.isOp("=")) {
          const targets = [toTarget(first)];
          let e: Node = first;
          while (p.isOp("=")) {
            p.next();
            e = p.exprList();
            if (p.isOp("=")) targets.push(toTarget(e));
          }
          out.push({ k: "assign", targets, e, line });
        } else out.push({ k: "expr", e: first, line });
      }
      if (!p.atEnd() && !p.isOp(";")) throw new PyException("SyntaxError", `unexpected "${p.peek().v}"`);
    }
    return out;
  }
}

function expr(src: string): Node {
  const p = new Parser(tokenize(src, false));
  const e = p.exprList();
  if (!p.atEnd()) throw new PyException("SyntaxError", `unexpected "${p.peek().v}"`);
  return e;
}

/** Parses a suite (already dedented). Errors are SuiteErrors carrying the line inside the suite. */
export function parseSuite(src: string): Stmt[] {
  const lines = logicalLines(src);
  const p = new SuiteParser(lines);
  const out = p.block(lines[0]?.indent ?? 0);
  if (p.i < lines.length) throw new SuiteError(new PyException("IndentationError", "unindent does not match any outer indentation level"), lines[p.i]!.line);
  return out;
}

class Break {}
class Continue {}
class Return {
  constructor(readonly value: unknown) {}
}

/** TemplateError as `from genshi.template import TemplateError` binds it. */
const TEMPLATE_ERROR = (message: unknown = "") => exception("TemplateError", message);

function assign(scope: Scope, t: Target, value: unknown): void {
  if (t.k === "name") scope.set(t.n, value);
  else if (t.k === "tuple") {
    const items = iterate(value);
    if (items.length !== t.items.length) throw new PyException("ValueError", `expected ${t.items.length} values to unpack, got ${items.length}`);
    t.items.forEach((sub, i) => assign(scope, sub, items[i]));
  } else {
    const o = evaluate(t.o, scope);
    const key = primitive(evaluate(t.i, scope));
    if (Array.isArray(o)) {
      if (typeof key !== "number") throw new PyException("TypeError", "list indices must be integers");
      const i = key < 0 ? o.length + key : key;
      if (i < 0 || i >= o.length) throw new PyException("IndexError", "list assignment index out of range");
      o[i] = value;
    } else if (o && typeof o === "object" && Object.getPrototypeOf(o) === Object.prototype) (o as Record<string, unknown>)[String(key)] = value;
    else throw new PyException("TypeError", "object does not support item assignment");
  }
}

function read(scope: Scope, t: Target): unknown {
  if (t.k === "name") return evaluate({ k: "name", n: t.n }, scope);
  if (t.k === "item") return evaluate({ k: "item", o: t.o, i: t.i }, scope);
  throw new PyException("SyntaxError", "illegal expression for augmented assignment");
}

function run(stmts: Stmt[], scope: Scope): void {
  for (const s of stmts) {
    try {
      step(s, scope);
    } catch (e) {
      if (e instanceof PyException) throw new SuiteError(e, s.line);
      throw e;
    }
  }
}

function step(s: Stmt, scope: Scope): void {
  switch (s.k) {
    case "expr": evaluate(s.e, scope); return;
    case "assign": {
      const v = evaluate(s.e, scope);
      for (const t of s.targets) assign(scope, t, v);
      return;
    }
    case "aug": {
      const v = evaluate({ k: "bin", op: s.op, a: { k: "const", v: read(scope, s.target) }, b: s.e }, scope);
      // lists extend in place with +=, as Python's list.__iadd__ does
      const cur = read(scope, s.target);
      if (s.op === "+" && Array.isArray(cur) && Array.isArray(v)) cur.splice(0, cur.length, ...v);
      else assign(scope, s.target, v);
      return;
    }
    case "if": {
      for (const [c, body] of s.branches) if (truthy(evaluate(c, scope))) return run(body, scope);
      return run(s.orelse, scope);
    }
    case "for": {
      for (const item of iterate(evaluate(s.it, scope))) {
        assign(scope, s.target, item);
        try {
          run(s.body, scope);
        } catch (e) {
          if (e instanceof Break) return;
          if (!(e instanceof Continue)) throw e;
        }
      }
      return run(s.orelse, scope);
    }
    case "def":
      scope.set(
        s.name,
        makeFunction(s.name, s.params, scope, (inner) => {
          try {
            run(s.body, inner);
          } catch (e) {
            if (e instanceof Return) return e.value;
            throw e;
          }
          return null;
        }),
      );
      return;
    case "return": throw new Return(s.e ? evaluate(s.e, scope) : null);
    case "break": throw new Break();
    case "continue": throw new Continue();
    case "pass": return;
    case "import": scope.set(s.name, TEMPLATE_ERROR); return;
    case "raise": {
      const v = s.e ? evaluate(s.e, scope) : new PyException("RuntimeError", "No active exception to reraise");
      if (v instanceof PyException) throw v;
      if (v === TEMPLATE_ERROR) throw new PyException("TemplateError", "");
      throw new PyException("TypeError", "exceptions must derive from BaseException");
    }
  }
}

/** Runs a parsed suite in `scope` (assignments stay there, as in Genshi's context). */
export function execute(stmts: Stmt[], scope: Scope): void {
  try {
    run(stmts, scope);
  } catch (e) {
    if (e instanceof Break || e instanceof Continue) throw new PyException("SyntaxError", "'break' or 'continue' outside loop");
    if (e instanceof Return) throw new PyException("SyntaxError", "'return' outside function");
    throw e;
  }
}

