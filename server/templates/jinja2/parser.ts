// Jinja2's parser (jinja2/parser.py, 3.x): the same grammar and precedence, including its
// quirks (`-x|f` filters the negation, `-2 ** 2` is 4). Tags outside the default set
// (do, break, continue, autoescape, trans...) are syntax errors, as in Bcfg2's environment.
import type { Args, Expr, MacroSignature, Stmt, Target, TemplateAst } from "./ast.js";
import { TemplateSyntaxError } from "./errors.js";
import { tokenize, type Token } from "./lexer.js";
import { PyFloat } from "../python/values.js";

const COMPARE = new Set(["==", "!=", "<", "<=", ">", ">="]);

function describe(t: Token): string {
  if (t.type === "eof") return "end of template";
  if (t.type === "block_end") return "end of statement block";
  if (t.type === "variable_end") return "end of print statement";
  if (t.type === "data") return "template data / text";
  return t.value;
}

class Parser {
  private i = 0;
  private readonly endStack: string[][] = [];
  readonly blocks = new Map<string, Stmt & { k: "block" }>();
  hasExtends = false;

  constructor(
    private readonly toks: Token[],
    private readonly name: string,
  ) {}

  get cur(): Token { return this.toks[this.i]!; }
  look(n = 1): Token { return this.toks[Math.min(this.i + n, this.toks.length - 1)]!; }
  next(): Token { const t = this.cur; if (t.type !== "eof") this.i++; return t; }
  fail(msg: string, line = this.cur.line): never { throw new TemplateSyntaxError(msg, this.name, line); }
  isOp(v: string): boolean { return this.cur.type === "operator" && this.cur.value === v; }
  isName(v?: string): boolean { return this.cur.type === "name" && (v === undefined || this.cur.value === v); }
  skipOp(v: string): boolean { if (this.isOp(v)) { this.next(); return true; } return false; }
  skipName(v: string): boolean { if (this.isName(v)) { this.next(); return true; } return false; }
  expectOp(v: string): Token {
    if (!this.isOp(v)) this.fail(`expected token '${v}', got '${describe(this.cur)}'`);
    return this.next();
  }
  expectName(v?: string): Token {
    if (!this.isName(v)) this.fail(v ? `expected token '${v}', got '${describe(this.cur)}'` : `expected token 'name', got '${describe(this.cur)}'`);
    return this.next();
  }
  expectType(type: Token["type"]): Token {
    if (this.cur.type !== type) this.fail(`expected token '${describe({ type, value: "", line: 0 })}', got '${describe(this.cur)}'`);
    return this.next();
  }

  // ------------------------------------------------------------ statements
  parse(): TemplateAst {
    const body = this.subparse([]);
    return { body, blocks: this.blocks, hasExtends: this.hasExtends };
  }

  /** Statements until a block tag named in `ends` (left as the current token), or eof when `ends` is empty. */
  subparse(ends: string[]): Stmt[] {
    const body: Stmt[] = [];
    if (ends.length) this.endStack.push(ends);
    try {
      for (;;) {
        const t = this.cur;
        if (t.type === "data") {
          body.push({ k: "data", text: t.value, line: t.line });
          this.next();
        } else if (t.type === "variable_begin") {
          this.next();
          body.push({ k: "output", node: this.parseTuple(), line: t.line });
          this.expectType("variable_end");
        } else if (t.type === "block_begin") {
          this.next();
          if (ends.length && this.cur.type === "name" && ends.includes(this.cur.value)) return body;
          body.push(this.parseStatement());
        } else if (t.type === "eof") {
          if (ends.length) {
            this.fail(`Unexpected end of template. Jinja was looking for the following tags: ${ends.map((e) => `'${e}'`).join(" or ")}. The innermost block that needs to be closed is '${this.blockName(ends)}'.`);
          }
          return body;
        } else this.fail(`unexpected '${describe(t)}'`);
      }
    } finally {
      if (ends.length) this.endStack.pop();
    }
  }

  private blockName(ends: string[]): string {
    return ends[ends.length - 1]!.replace(/^end/, "");
  }

  parseStatement(): Stmt {
    const t = this.cur;
    if (t.type !== "name") this.fail("tag name expected");
    const line = t.line;
    switch (t.value) {
      case "for": return this.parseFor();
      case "if": return this.parseIf();
      case "block": return this.parseBlock();
      case "extends": this.next(); this.hasExtends = true; return this.endStmt({ k: "extends", template: this.parseExpression(), line });
      case "include": return this.parseInclude();
      case "import": return this.parseImport();
      case "from": return this.parseFrom();
      case "set": return this.parseSet();
      case "macro": return this.parseMacro();
      case "call": return this.parseCallBlock();
      case "filter": return this.parseFilterBlock();
      case "with": return this.parseWith();
      case "autoescape": {
        this.next();
        const value = this.parseExpression();
        this.expectType("block_end");
        const body = this.subparse(["endautoescape"]);
        this.next();
        return this.endStmt({ k: "autoescape", value, body, line });
      }
    }
    const open = this.endStack.flat();
    if (open.includes(t.value)) {
      this.fail(`Encountered unknown tag '${t.value}'. Jinja was looking for the following tags: ${this.endStack[this.endStack.length - 1]!.map((e) => `'${e}'`).join(" or ")}. The innermost block that needs to be closed is '${this.blockName(this.endStack[this.endStack.length - 1]!)}'.`);
    }
    if (/^end/.test(t.value) || ["else", "elif"].includes(t.value)) {
      this.fail(`Encountered unknown tag '${t.value}'.`);
    }
    this.fail(`Encountered unknown tag '${t.value}'.`);
  }

  private endStmt<T extends Stmt>(s: T): T {
    this.expectType("block_end");
    return s;
  }

  /** Statements until one of `ends`; consumes the end tag name (not its block_end). */
  private body(ends: string[]): { body: Stmt[]; end: string } {
    const body = this.subparse(ends);
    const end = this.next().value;
    return { body, end };
  }

  private parseFor(): Stmt {
    const line = this.next().line;
    const target = this.parseAssignTarget({ extraEnd: ["in"] });
    this.expectName("in");
    const iter = this.parseTuple({ withCondexpr: false, extraEnd: ["recursive"] });
    let test: Expr | undefined;
    if (this.skipName("if")) test = this.parseExpression();
    const recursive = this.skipName("recursive");
    this.expectType("block_end");
    const { body, end } = this.body(["endfor", "else"]);
    let else_: Stmt[] = [];
    if (end === "else") {
      this.expectType("block_end");
      else_ = this.body(["endfor"]).body;
    }
    this.expectType("block_end");
    return { k: "for", target, iter, body, else_, test, recursive, line };
  }

  private parseIf(): Stmt {
    const line = this.next().line;
    const test = this.parseTuple({ withCondexpr: false });
    this.expectType("block_end");
    const { body, end } = this.body(["elif", "else", "endif"]);
    const node: Stmt & { k: "if" } = { k: "if", test, body, else_: [], line };
    if (end === "elif") {
      this.i--; // re-read "elif" as an "if"
      node.else_ = [this.parseIf()];
      return node;
    }
    if (end === "else") {
      this.expectType("block_end");
      node.else_ = this.body(["endif"]).body;
    }
    this.expectType("block_end");
    return node;
  }

  private parseBlock(): Stmt {
    const line = this.next().line;
    const name = this.expectName().value;
    const scoped = this.skipName("scoped");
    const required = this.skipName("required");
    if (this.isOp("-")) this.fail("Block names in Jinja have to be valid Python identifiers and may not contain hyphens, use an underscore instead.");
    this.expectType("block_end");
    const body = this.subparse(["endblock"]);
    this.next();
    if (this.isName()) {
      const n = this.next().value;
      if (n !== name) this.fail(`'${name}' expected, got '${n}'`);
    }
    this.expectType("block_end");
    if (this.blocks.has(name)) this.fail(`block '${name}' defined twice`, line);
    if (required && body.some((s) => !(s.k === "data" && /^\s*$/.test(s.text)))) {
      this.fail("Required blocks can only contain comments or whitespace", line);
    }
    const node: Stmt & { k: "block" } = { k: "block", name, body, scoped, required, line };
    this.blocks.set(name, node);
    return node;
  }

  private parseContext(dflt: boolean): boolean {
    if ((this.isName("with") || this.isName("without")) && this.look().type === "name" && this.look().value === "context") {
      const w = this.next().value === "with";
      this.next();
      return w;
    }
    return dflt;
  }

  private parseInclude(): Stmt {
    const line = this.next().line;
    const template = this.parseExpression();
    let ignoreMissing = false;
    if (this.isName("ignore") && this.look().type === "name" && this.look().value === "missing") {
      this.next();
      this.next();
      ignoreMissing = true;
    }
    const withContext = this.parseContext(true);
    return this.endStmt({ k: "include", template, withContext, ignoreMissing, line });
  }

  private parseImport(): Stmt {
    const line = this.next().line;
    const template = this.parseExpression();
    this.expectName("as");
    const target = this.expectName().value;
    const withContext = this.parseContext(false);
    return this.endStmt({ k: "import", template, target, withContext, line });
  }

  private parseFrom(): Stmt {
    const line = this.next().line;
    const template = this.parseExpression();
    this.expectName("import");
    const names: Array<[string, string]> = [];
    let withContext = false;
    for (;;) {
      if (names.length) this.expectOp(",");
      if (this.isName()) {
        if ((this.isName("with") || this.isName("without")) && this.look().type === "name" && this.look().value === "context") {
          withContext = this.parseContext(false);
          break;
        }
        const t = this.next();
        if (t.value.startsWith("_")) this.fail("names starting with an underline can not be imported", t.line);
        const alias = this.skipName("as") ? this.expectName().value : t.value;
        names.push([t.value, alias]);
        if (!this.isOp(",")) break;
      } else if (!names.length) this.expectName();
      if (this.look().type === "block_end" && this.isOp(",")) { this.next(); break; }
      if (!this.isOp(",")) break;
    }
    if (this.isName("with") || this.isName("without")) withContext = this.parseContext(false);
    return this.endStmt({ k: "fromimport", template, names, withContext, line });
  }

  private parseSet(): Stmt {
    const line = this.next().line;
    const target = this.parseAssignTarget({ withNamespace: true });
    if (this.skipOp("=")) {
      const node = this.parseTuple();
      return this.endStmt({ k: "assign", target, node, line });
    }
    const filter = this.isOp("|") ? this.parseFilter(null) : undefined;
    this.expectType("block_end");
    const body = this.subparse(["endset"]);
    this.next();
    this.expectType("block_end");
    return { k: "assignblock", target, filter, body, line };
  }

  private parseSignature(): MacroSignature {
    const params: string[] = [];
    const defaults: Expr[] = [];
    this.expectOp("(");
    while (!this.isOp(")")) {
      if (params.length) this.expectOp(",");
      if (this.isOp(")")) break;
      const t = this.expectName();
      if (["true", "false", "none", "True", "False", "None"].includes(t.value)) this.fail(`can't assign to ${JSON.stringify(t.value)}`, t.line);
      if (this.skipOp("=")) defaults.push(this.parseExpression());
      else if (defaults.length) this.fail("non-default argument follows default argument");
      params.push(t.value);
    }
    this.expectOp(")");
    return { params, defaults };
  }

  private parseMacro(): Stmt {
    const line = this.next().line;
    const name = this.expectName().value;
    const sig = this.parseSignature();
    this.expectType("block_end");
    const body = this.subparse(["endmacro"]);
    this.next();
    this.expectType("block_end");
    return { k: "macro", name, ...sig, body, line };
  }

  private parseCallBlock(): Stmt {
    const line = this.next().line;
    const sig = this.isOp("(") ? this.parseSignature() : { params: [], defaults: [] };
    const call = this.parseExpression();
    if (call.k !== "call") this.fail("expected call", line);
    this.expectType("block_end");
    const body = this.subparse(["endcall"]);
    this.next();
    this.expectType("block_end");
    return { k: "callblock", call: call as Expr & { k: "call" }, ...sig, body, line };
  }

  private parseFilterBlock(): Stmt {
    const line = this.next().line;
    const filter = this.parseFilter(null, true);
    this.expectType("block_end");
    const body = this.subparse(["endfilter"]);
    this.next();
    this.expectType("block_end");
    return { k: "filterblock", filter, body, line };
  }

  private parseWith(): Stmt {
    const line = this.next().line;
    const targets: Target[] = [];
    const values: Expr[] = [];
    while (this.cur.type !== "block_end") {
      if (targets.length) this.expectOp(",");
      targets.push(this.parseAssignTarget());
      this.expectOp("=");
      values.push(this.parseExpression());
    }
    this.next();
    const body = this.subparse(["endwith"]);
    this.next();
    this.expectType("block_end");
    return { k: "with", targets, values, body, line };
  }

  parseAssignTarget(opts: { withTuple?: boolean; nameOnly?: boolean; extraEnd?: string[]; withNamespace?: boolean } = {}): Target {
    const withTuple = opts.withTuple ?? true;
    if (opts.withNamespace && this.look().type === "operator" && this.look().value === ".") {
      const name = this.expectName().value;
      this.next();
      const attr = this.expectName().value;
      return { k: "nsref", name, attr };
    }
    if (opts.nameOnly) return { k: "name", name: this.expectName().value };
    const expr = withTuple ? this.parseTuple({ simplified: true, extraEnd: opts.extraEnd }) : this.parsePrimary();
    const toTarget = (e: Expr): Target => {
      if (e.k === "name") {
        if (["true", "false", "none", "True", "False", "None"].includes(e.name)) this.fail(`can't assign to ${JSON.stringify(e.name)}`, e.line);
        return { k: "name", name: e.name };
      }
      if (e.k === "tuple") return { k: "tuple", items: e.items.map(toTarget) };
      return this.fail(`can't assign to ${e.k === "const" ? "literal" : e.k}`, e.line);
    };
    return toTarget(expr);
  }

  // ------------------------------------------------------------ expressions
  parseExpression(withCondexpr = true): Expr {
    return withCondexpr ? this.parseCondexpr() : this.parseOr();
  }

  private parseCondexpr(): Expr {
    const line = this.cur.line;
    let expr1 = this.parseOr();
    while (this.skipName("if")) {
      const test = this.parseOr();
      const expr2 = this.skipName("else") ? this.parseCondexpr() : undefined;
      expr1 = { k: "cond", test, expr1, expr2, line };
    }
    return expr1;
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isName("or")) { const line = this.next().line; left = { k: "or", left, right: this.parseAnd(), line }; }
    return left;
  }
  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isName("and")) { const line = this.next().line; left = { k: "and", left, right: this.parseNot(), line }; }
    return left;
  }
  private parseNot(): Expr {
    if (this.isName("not")) { const line = this.next().line; return { k: "not", node: this.parseNot(), line }; }
    return this.parseCompare();
  }
  private parseCompare(): Expr {
    const line = this.cur.line;
    const expr = this.parseMath1();
    const ops: Array<[string, Expr]> = [];
    for (;;) {
      if (this.cur.type === "operator" && COMPARE.has(this.cur.value)) {
        const op = this.next().value;
        ops.push([op, this.parseMath1()]);
      } else if (this.skipName("in")) ops.push(["in", this.parseMath1()]);
      else if (this.isName("not") && this.look().type === "name" && this.look().value === "in") {
        this.next();
        this.next();
        ops.push(["notin", this.parseMath1()]);
      } else break;
    }
    return ops.length ? { k: "compare", expr, ops, line } : expr;
  }
  private parseMath1(): Expr {
    let left = this.parseConcat();
    while (this.isOp("+") || this.isOp("-")) {
      const t = this.next();
      left = { k: "binop", op: t.value, left, right: this.parseConcat(), line: t.line };
    }
    return left;
  }
  private parseConcat(): Expr {
    const line = this.cur.line;
    const nodes = [this.parseMath2()];
    while (this.skipOp("~")) nodes.push(this.parseMath2());
    return nodes.length === 1 ? nodes[0]! : { k: "concat", nodes, line };
  }
  private parseMath2(): Expr {
    let left = this.parsePow();
    while (this.isOp("*") || this.isOp("/") || this.isOp("//") || this.isOp("%")) {
      const t = this.next();
      left = { k: "binop", op: t.value, left, right: this.parsePow(), line: t.line };
    }
    return left;
  }
  private parsePow(): Expr {
    let left = this.parseUnary();
    while (this.isOp("**")) {
      const t = this.next();
      left = { k: "binop", op: "**", left, right: this.parseUnary(), line: t.line };
    }
    return left;
  }
  private parseUnary(withFilter = true): Expr {
    const line = this.cur.line;
    let node: Expr;
    if (this.isOp("-") || this.isOp("+")) {
      const op = this.next().value as "-" | "+";
      node = { k: "unary", op, node: this.parseUnary(false), line };
    } else node = this.parsePrimary();
    node = this.parsePostfix(node);
    if (withFilter) node = this.parseFilterExpr(node);
    return node;
  }

  parsePrimary(): Expr {
    const t = this.cur;
    const line = t.line;
    if (t.type === "name") {
      this.next();
      if (t.value === "true" || t.value === "True") return { k: "const", value: true, line };
      if (t.value === "false" || t.value === "False") return { k: "const", value: false, line };
      if (t.value === "none" || t.value === "None") return { k: "const", value: null, line };
      return { k: "name", name: t.value, line };
    }
    if (t.type === "string") {
      this.next();
      let s = t.parsed as string;
      while (this.cur.type === "string") s += this.next().parsed as string;
      return { k: "const", value: s, line };
    }
    if (t.type === "integer") { this.next(); return { k: "const", value: t.parsed, line }; }
    if (t.type === "float") { this.next(); return { k: "const", value: new PyFloat(t.parsed as number), line }; }
    if (this.isOp("(")) {
      this.next();
      const e = this.parseTuple({ explicitParentheses: true });
      this.expectOp(")");
      return e;
    }
    if (this.isOp("[")) return this.parseList();
    if (this.isOp("{")) return this.parseDict();
    return this.fail(`unexpected '${describe(t)}'`);
  }

  parseTuple(opts: { simplified?: boolean; withCondexpr?: boolean; extraEnd?: string[]; explicitParentheses?: boolean } = {}): Expr {
    const line = this.cur.line;
    const parse = opts.simplified ? () => this.parsePrimary() : () => this.parseExpression(opts.withCondexpr ?? true);
    const items: Expr[] = [];
    let isTuple = false;
    for (;;) {
      if (items.length) this.expectOp(",");
      if (this.isTupleEnd(opts.extraEnd)) break;
      items.push(parse());
      if (this.isOp(",")) isTuple = true;
      else break;
    }
    if (!isTuple) {
      if (items.length) return items[0]!;
      if (!opts.explicitParentheses) this.fail(`Expected an expression, got '${describe(this.cur)}'`);
    }
    return { k: "tuple", items, line };
  }

  private isTupleEnd(extra?: string[]): boolean {
    const t = this.cur;
    if (t.type === "variable_end" || t.type === "block_end" || (t.type === "operator" && t.value === ")")) return true;
    return !!extra && t.type === "name" && extra.includes(t.value);
  }

  private parseList(): Expr {
    const line = this.expectOp("[").line;
    const items: Expr[] = [];
    while (!this.isOp("]")) {
      if (items.length) this.expectOp(",");
      if (this.isOp("]")) break;
      items.push(this.parseExpression());
    }
    this.expectOp("]");
    return { k: "list", items, line };
  }

  private parseDict(): Expr {
    const line = this.expectOp("{").line;
    const items: Array<[Expr, Expr]> = [];
    while (!this.isOp("}")) {
      if (items.length) this.expectOp(",");
      if (this.isOp("}")) break;
      const key = this.parseExpression();
      this.expectOp(":");
      items.push([key, this.parseExpression()]);
    }
    this.expectOp("}");
    return { k: "dict", items, line };
  }

  private parsePostfix(node: Expr): Expr {
    for (;;) {
      if (this.isOp(".") || this.isOp("[")) node = this.parseSubscript(node);
      else if (this.isOp("(")) node = this.parseCall(node);
      else return node;
    }
  }

  private parseFilterExpr(node: Expr): Expr {
    for (;;) {
      if (this.isOp("|")) node = this.parseFilter(node);
      else if (this.isName("is")) node = this.parseTest(node);
      else if (this.isOp("(")) node = this.parseCall(node);
      else return node;
    }
  }

  private parseSubscript(node: Expr): Expr {
    const t = this.next();
    const line = t.line;
    if (t.value === ".") {
      const a = this.next();
      if (a.type === "name") return { k: "getattr", node, attr: a.value, line };
      if (a.type === "integer") return { k: "getitem", node, arg: { k: "const", value: a.parsed, line }, line };
      return this.fail("expected name or number", a.line);
    }
    const args: Expr[] = [];
    while (!this.isOp("]")) {
      if (args.length) this.expectOp(",");
      args.push(this.parseSubscribed());
    }
    this.expectOp("]");
    const arg: Expr = args.length === 1 ? args[0]! : { k: "tuple", items: args, line };
    return { k: "getitem", node, arg, line };
  }

  private parseSubscribed(): Expr {
    const line = this.cur.line;
    const parts: Array<Expr | undefined> = [];
    if (this.isOp(":")) {
      this.next();
      parts.push(undefined);
    } else {
      const node = this.parseExpression();
      if (!this.isOp(":")) return node;
      this.next();
      parts.push(node);
    }
    if (this.isOp(":")) parts.push(undefined);
    else if (!this.isOp("]") && !this.isOp(",")) parts.push(this.parseExpression());
    else parts.push(undefined);
    if (this.isOp(":")) {
      this.next();
      parts.push(!this.isOp("]") && !this.isOp(",") ? this.parseExpression() : undefined);
    } else parts.push(undefined);
    return { k: "slice", start: parts[0], stop: parts[1], step: parts[2], line };
  }

  private parseCallArgs(): Args {
    this.expectOp("(");
    const out: Args = { args: [], kwargs: [] };
    let requireComma = false;
    const ensure = (ok: boolean) => { if (!ok) this.fail("invalid syntax for function call expression"); };
    while (!this.isOp(")")) {
      if (requireComma) {
        this.expectOp(",");
        if (this.isOp(")")) break;
      }
      if (this.isOp("*")) {
        ensure(!out.dynArgs && !out.dynKwargs);
        this.next();
        out.dynArgs = this.parseExpression();
      } else if (this.isOp("**")) {
        ensure(!out.dynKwargs);
        this.next();
        out.dynKwargs = this.parseExpression();
      } else if (this.cur.type === "name" && this.look().type === "operator" && this.look().value === "=") {
        ensure(!out.dynKwargs);
        const key = this.next().value;
        this.next();
        out.kwargs.push([key, this.parseExpression()]);
      } else {
        ensure(!out.dynArgs && !out.dynKwargs && !out.kwargs.length);
        out.args.push(this.parseExpression());
      }
      requireComma = true;
    }
    this.expectOp(")");
    return out;
  }

  private parseCall(node: Expr): Expr {
    const line = this.cur.line;
    return { k: "call", node, ...this.parseCallArgs(), line };
  }

  private dottedName(): string {
    let name = this.expectName().value;
    while (this.isOp(".")) {
      this.next();
      name += "." + this.expectName().value;
    }
    return name;
  }

  parseFilter(node: Expr | null, startInline = false): Expr {
    let out = node;
    while (this.isOp("|") || startInline) {
      if (!startInline) this.next();
      const line = this.cur.line;
      const name = this.dottedName();
      const args = this.isOp("(") ? this.parseCallArgs() : { args: [], kwargs: [] };
      out = { k: "filter", node: out, name, ...args, line };
      startInline = false;
    }
    return out!;
  }

  private parseTest(node: Expr): Expr {
    const line = this.next().line;
    const negate = this.skipName("not");
    const name = this.dottedName();
    let args: Args = { args: [], kwargs: [] };
    if (this.isOp("(")) args = this.parseCallArgs();
    else if (
      ["name", "string", "integer", "float"].includes(this.cur.type) || this.isOp("(") || this.isOp("[") || this.isOp("{")
    ) {
      if (!(this.isName("else") || this.isName("or") || this.isName("and"))) {
        if (this.isName("is")) this.fail("You cannot chain multiple tests with is");
        const arg = this.parsePostfix(this.parsePrimary());
        args = { args: [arg], kwargs: [] };
      }
    }
    return { k: "test", node, name, negate, ...args, line };
  }
}

export function parseTemplate(source: string, name: string): TemplateAst {
  return new Parser(tokenize(source, name), name).parse();
}
