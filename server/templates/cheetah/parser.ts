// The parser of the .cheetah subset (cheetah-template.ts): Cheetah.Parser's token order and
// whitespace rules (a directive alone on its line eats its indentation and newline); every
// directive outside the subset, and <% %>, is a syntax error naming the directive.
import { evaluate, parseExpression, parseForHead, type Node } from "../python/expr.js";
import { valueForName, valueFromSearchList } from "./names.js";
import { PyException } from "../python/values.js";

export type CNode =
  | { k: "text"; s: string }
  | { k: "ph"; e: Node; silent: boolean; line: number }
  | { k: "set"; targets: string[]; op: string; e: Node; line: number }
  | { k: "silent"; e: Node; line: number }
  | { k: "if"; branches: Array<{ c?: Node; body: CNode[] }>; line: number }
  | { k: "for"; targets: string[]; it: Node; body: CNode[]; line: number };

/** Every directive name Cheetah 3 recognises (Parser.directiveNamesAndParsers + the i18n macro). */
const ALL_DIRECTIVES = [
  "import", "from", "extends", "implements", "super", "slurp", "raw", "include", "cache", "filter", "echo", "silent",
  "transform", "call", "arg", "capture", "attr", "def", "block", "@", "defmacro", "closure", "set", "del", "if", "while",
  "for", "else", "elif", "pass", "break", "continue", "stop", "return", "yield", "repeat", "unless", "assert", "raise",
  "try", "except", "finally", "errorCatcher", "breakpoint", "compiler", "compiler-settings", "shBang", "encoding", "end", "i18n",
];
const SUPPORTED = "if, elif, else, for, set, silent, slurp, raw, end";
/** Cheetah's endDirectiveNamesAndHandlers keys, in its order (the first prefix match wins). */
const END_NAMES = ["def", "block", "closure", "cache", "call", "capture", "filter", "errorCatcher", "while", "repeat", "unless", "if", "for", "try", "defmacro"];
const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const DIRECTIVE_NAME_CHAR = /[A-Za-z0-9_\-@]/;
const ASSIGN_OPS = ["=", "+=", "-=", "*=", "/=", "//=", "%=", "**=", ">>=", "<<=", "&=", "|=", "^="];
const PY_OPS = ["**=", "//=", ">>=", "<<=", "...", "**", "//", "==", "!=", "<=", ">=", "<>", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "->", "<<", ">>", ":="];
const CLOSE: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
const OPEN: Record<string, string> = { ")": "(", "]": "[", "}": "{" };

export class TemplateSyntax extends Error {
  constructor(message: string, readonly line: number) {
    super(message);
  }
}

/** A body being built, with Cheetah's pending (uncommitted) text chunks. */
interface Frame {
  body: CNode[];
  pending: string[];
  kind: "root" | "if" | "for" | "short";
  line: number;
}

export class Parser {
  pos = 0;
  limit: number;
  private readonly holes = new Map<string, Node>();
  private readonly frames: Frame[] = [{ body: [], pending: [], kind: "root", line: 1 }];

  private readonly lineStarts: number[] = [0];

  constructor(private readonly src: string) {
    this.limit = src.length;
    for (const m of src.matchAll(/\r\n|\r|\n/g)) this.lineStarts.push(m.index + m[0].length);
  }

  // ------------------------------------------------------------ source reading
  atEnd(): boolean {
    return this.pos >= this.limit;
  }
  peek(o = 0): string {
    return this.src[this.pos + o] ?? "";
  }
  line(pos = this.pos): number {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
  fail(message: string, pos = this.pos): never {
    throw new TemplateSyntax(message, this.line(pos));
  }
  /** Cheetah's escCharLookBehind: at the start, or not after a backslash. */
  notEscaped(pos = this.pos): boolean {
    return pos === 0 || this.src[pos - 1] !== "\\";
  }
  startsWith(s: string, pos = this.pos): boolean {
    return this.src.startsWith(s, pos);
  }
  eol(pos = this.pos): { start: number; end: number } {
    const re = /\r\n|\r|\n/g;
    re.lastIndex = pos;
    const m = re.exec(this.src);
    return m ? { start: m.index, end: m.index + m[0].length } : { start: this.src.length, end: this.src.length };
  }
  findBOL(pos = this.pos): number {
    return Math.max(this.src.lastIndexOf("\n", pos - 1) + 1, this.src.lastIndexOf("\r", pos - 1) + 1, 0);
  }
  isLineClear(pos = this.pos): boolean {
    const bol = this.findBOL(this.pos); // SourceReader.isLineClearToPos takes BOL from the current position
    return bol === pos || /^\s+$/.test(this.src.slice(bol, pos));
  }
  readToEOL(gobble: boolean): string {
    const e = this.eol();
    const to = gobble ? e.end : e.start;
    const s = this.src.slice(this.pos, to);
    this.pos = to;
    return s;
  }
  whitespace(max = Infinity): string {
    const start = this.pos;
    while (!this.atEnd() && " \f\t".includes(this.peek()) && this.pos - start < max) this.pos++;
    return this.src.slice(start, this.pos);
  }
  identifierAt(pos = this.pos): string | undefined {
    return /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(pos, pos + 256))?.[0];
  }

  // ------------------------------------------------------------ output model (Cheetah's compiler)
  get frame(): Frame {
    return this.frames[this.frames.length - 1]!;
  }
  addText(s: string): void {
    this.frame.pending.push(s);
  }
  commit(): void {
    const f = this.frame;
    const s = f.pending.join("");
    f.pending = [];
    if (s) f.body.push({ k: "text", s });
  }
  /** Compiler.handleWSBeforeDirective: cut the last pending chunk back to its line start. */
  handleWS(): void {
    const p = this.frame.pending;
    if (!p.length) return;
    const s = p[p.length - 1]!;
    const bol = Math.max(s.lastIndexOf("\n") + 1, s.lastIndexOf("\r") + 1, 0);
    if (bol < s.length) p[p.length - 1] = s.slice(0, bol);
  }
  /** Compiler.addComment: only comments that become code lines commit the pending text. */
  addComment(comm: string): void {
    if (/^#+\n?$/.test(comm)) return;
    if (/^[a-zA-z_]+@/.test(comm) || /^(doc|doc-method|doc-module|doc-class|header):/.test(comm)) return;
    if (comm !== "") this.commit();
  }
  push(node: CNode, body: CNode[], kind: Frame["kind"], line: number): void {
    this.commit();
    this.frame.body.push(node);
    this.frames.push({ body, pending: [], kind, line });
  }
  pop(): Frame {
    this.commit();
    this.requireStatement();
    return this.frames.pop()!;
  }
  /** Cheetah compiles a block that outputs nothing (only comments, or nothing) into Python that does not compile. */
  requireStatement(): void {
    const f = this.frame;
    if (f.kind !== "root" && !f.body.length) throw new TemplateSyntax(`empty #${f.kind === "short" ? "if/for" : f.kind} block: Cheetah's generated Python would not compile (expected an indented block)`, f.line);
  }

  // ------------------------------------------------------------ token matching
  matchDirectiveName(pos: number): string | undefined {
    let name = "";
    let possible = ALL_DIRECTIVES;
    let i = pos;
    while (i < this.src.length) {
      const c = this.src[i++]!;
      if (!DIRECTIVE_NAME_CHAR.test(c)) break;
      name += c;
      if (name === "@") return i < this.src.length && IDENT_START.test(this.src[i]!) ? "@" : undefined;
      possible = possible.filter((d) => d.startsWith(name));
      if (!possible.length) break;
      if (possible.includes(name) && (i >= this.src.length || !DIRECTIVE_NAME_CHAR.test(this.src[i]!))) return name;
    }
    return undefined;
  }
  matchDirective(pos = this.pos): string | undefined {
    if (this.src[pos] !== "#" || !this.notEscaped(pos) || !/[A-Za-z_@]/.test(this.src[pos + 1] ?? "")) return undefined;
    return this.matchDirectiveName(pos + 1);
  }
  /** `$` [!] [cache] [enclosure ws] identifier  (Parser.cheetahVarStartRE) */
  matchVarStart(pos = this.pos): boolean {
    if (this.src[pos] !== "$" || !this.notEscaped(pos)) return false;
    return /^\$!?(?:\*[0-9.]+[smhdw]?\*|\*)?(?:[{([][ \t\f]*)?[A-Za-z_]/.test(this.src.slice(pos, pos + 64));
  }
  /** `$` [cache] enclosure ws, then anything but a closer (Parser.expressionPlaceholderStartRE) */
  matchExprPlaceholderStart(pos = this.pos): boolean {
    if (this.src[pos] !== "$" || !this.notEscaped(pos)) return false;
    return /^\$(?:\*[0-9.]+[smhdw]?\*|\*)?[{([][ \t\f]*[^)}\]]/.test(this.src.slice(pos, pos + 64));
  }
  matchTopLevel(pos = this.pos): boolean {
    const c = this.src[pos];
    if (c !== "#" && c !== "$" && c !== "<") return false;
    if (this.notEscaped(pos) && (this.startsWith("##", pos) || this.startsWith("#*", pos) || this.startsWith("<%", pos))) return true;
    if (this.matchVarStart(pos) || this.matchExprPlaceholderStart(pos) || this.matchDirective(pos)) return true;
    return /^#[ \t\f]*(?:\r\n|\n|\r)/.test(this.src.slice(pos, pos + 64));
  }

  // ------------------------------------------------------------ main loop
  parseAll(): CNode[] {
    this.parse();
    if (this.frames.length > 1) {
      const f = this.frame;
      throw new TemplateSyntax(`Some #directives are missing their corresponding #end ___ tag: ${f.kind}`, f.line);
    }
    this.commit();
    return this.frame.body;
  }

  parse(): void {
    while (!this.atEnd()) {
      const p = this.pos;
      if (this.notEscaped() && this.startsWith("##")) this.eatComment();
      else if (this.notEscaped() && this.startsWith("#*")) this.eatMultiLineComment();
      else if (this.matchVarStart() || this.matchExprPlaceholderStart()) this.eatPlaceholder();
      else if (this.matchDirective()) this.eatDirective(this.matchDirective()!);
      else if (this.notEscaped() && this.startsWith("<%")) this.fail("<% %> (PSP) Python code is not supported in templates");
      else if (/^#[ \t\f]*(?:\r\n|\n|\r)/.test(this.src.slice(p, p + 64))) this.eatSlurp();
      else this.eatPlainText();
    }
  }

  eatPlainText(): void {
    const start = this.pos;
    while (!this.atEnd() && !this.matchTopLevel()) this.pos++;
    this.addText(this.src.slice(start, this.pos).split("\\$").join("$").split("\\#").join("#"));
  }

  eatComment(): void {
    const clear = this.isLineClear();
    if (clear) this.handleWS();
    this.pos += 2;
    this.addComment(this.readToEOL(clear));
  }

  eatMultiLineComment(): void {
    const clear = this.isLineClear();
    const eol1 = this.eol().start;
    this.pos += 2;
    const start = this.pos;
    let end = this.pos;
    let level = 1;
    for (;;) {
      end = this.pos;
      if (this.atEnd()) break;
      if (this.notEscaped() && this.startsWith("#*")) {
        this.pos += 2;
        level++;
      } else if (this.notEscaped() && this.startsWith("*#")) {
        this.pos += 2;
        level--;
      }
      if (!level) break;
      this.pos++;
    }
    const comm = this.src.slice(start, end);
    this.pos = end;
    if (!this.atEnd()) this.pos += 2;
    if (!this.atEnd()) {
      if (!this.src.slice(this.pos, this.eol().start).trim()) this.readToEOL(clear);
      if (clear && (this.atEnd() || this.pos > eol1)) this.handleWS();
    }
    this.addComment(comm);
  }

  eatSlurp(): void {
    if (this.isLineClear()) this.handleWS();
    this.commit();
    this.readToEOL(true);
  }

  eatPlaceholder(): void {
    const line = this.line();
    this.pos++; // $
    let silent = false;
    if (this.peek() === "!") {
      silent = true;
      this.pos++;
    }
    if (this.peek() === "*") this.fail("cached placeholders ($*var, $*5m*var) are not supported");
    let open: string | undefined;
    if ("({[".includes(this.peek()) && this.peek() !== "") {
      open = this.peek();
      this.pos++;
      this.whitespace();
    }
    let src: string;
    if (this.identifierAt()) {
      src = this.cheetahVar(false);
      if (open) {
        src += this.whitespace();
        if (this.peek() === ",") this.fail("placeholder filter arguments (${var, filter=...}) are not supported");
        if (this.peek() === CLOSE[open]) this.pos++;
        else {
          let rest = this.scanExpr({ enclosed: true, enclosures: [open] });
          if (rest.endsWith(CLOSE[open]!)) rest = rest.slice(0, -1);
          src += rest;
        }
      }
    } else {
      src = this.scanExpr({ enclosed: true, enclosures: [open!] });
      if (src.endsWith(CLOSE[open!]!)) src = src.slice(0, -1);
    }
    this.commit();
    this.frame.body.push({ k: "ph", e: this.compile(src, line), silent, line });
  }

  // ------------------------------------------------------------ directives
  eatDirective(name: string): void {
    switch (name) {
      case "if": return this.eatIf();
      case "for": case "else": case "elif": return this.eatIndenting(name);
      case "end": return this.eatEnd();
      case "set": return this.eatSet();
      case "silent": return this.eatSilent();
      case "slurp": return this.eatSlurp();
      case "raw": return this.eatRaw();
      default:
        this.fail(`#${name} is not supported in Cfg Cheetah templates (supported directives: ${SUPPORTED})`);
    }
  }

  /** Parser._eatRestOfDirectiveTag: a trailing ## comment, the closing `#`, or the newline of a lone directive. */
  eatRestOfDirectiveTag(clear: boolean, eol1: number): void {
    let foundComment = false;
    if (this.notEscaped() && this.startsWith("##")) {
      if (!this.matchDirective(this.pos + 1)) {
        foundComment = true;
        this.eatComment();
      }
    }
    if (!foundComment && this.peek() === "#" && this.notEscaped()) this.pos++;
    else if (clear && !this.atEnd() && "\r\n".includes(this.peek())) this.readToEOL(true);
    if (clear && (this.atEnd() || this.pos > eol1)) this.handleWS();
  }

  /** `:` followed by more text on the line: Cheetah's single-line short form. */
  shortForm(): boolean {
    if (this.peek() !== ":") return false;
    const rest = this.src.slice(this.pos + 1, this.eol().start).trim();
    return rest !== "" && !rest.startsWith("##");
  }

  /** Parse the rest of the line (newline included) into a new body. */
  parseShort(node: CNode, body: CNode[], line: number): void {
    this.pos++; // :
    this.push(node, body, "short", line);
    this.whitespace(1);
    const outer = this.limit;
    this.limit = this.eol().end;
    const depth = this.frames.length;
    this.parse();
    this.limit = outer;
    if (this.frames.length !== depth) this.fail("a block directive cannot be opened inside a single-line #if/#for", this.frames[this.frames.length - 1]!.line);
    this.pop();
  }

  eatIf(): void {
    const clear = this.isLineClear();
    const eol1 = this.eol().start;
    const line = this.line();
    this.pos += 3; // #if
    const { src, words } = this.scanExprWords({ breakAt: [":"] });
    if (words.includes("then") && words.includes("else")) this.fail("#if ... then ... else is not supported; use #if/#else/#end if");
    const body: CNode[] = [];
    const node: CNode = { k: "if", branches: [{ c: this.compile(src, line), body }], line };
    if (this.shortForm()) return this.parseShort(node, body, line);
    if (this.peek() === ":") this.pos++;
    this.whitespace();
    this.eatRestOfDirectiveTag(clear, eol1);
    this.push(node, body, "if", line);
  }

  /** #for / #elif / #else (Parser.eatSimpleIndentingDirective). */
  eatIndenting(name: "for" | "else" | "elif"): void {
    const clear = this.isLineClear();
    const eol1 = this.eol().start;
    const line = this.line();
    this.pos += name === "for" ? 1 : 1 + name.length; // Cheetah keeps "for" in the expression (its targets are read plain)
    let head = "";
    if (name !== "else") head = this.scanExpr({ breakAt: [":"] });
    else {
      const from = this.pos;
      if (this.scanExpr({ breakAt: [":"] }).trim()) this.fail(`unexpected "${this.src.slice(from, this.pos).trim()}" after #else (use #elif)`);
    }
    if (name === "for") {
      const h = this.forHead(head, line);
      const node: CNode = { k: "for", targets: h.targets, it: h.it, body: [], line };
      if (this.shortForm()) return this.parseShort(node, node.body, line);
      if (this.peek() === ":") this.pos++;
      this.whitespace();
      this.eatRestOfDirectiveTag(clear, eol1);
      this.push(node, node.body, "for", line);
      return;
    }
    const cond = name === "elif" ? this.compile(head, line) : undefined;
    if (this.shortForm()) {
      // `#else: text` continues the statement just before it: a single-line #if.
      const f = this.frame;
      const prev = f.body[f.body.length - 1];
      if (f.pending.join("") !== "" || !prev || prev.k !== "if") this.fail(`single-line #${name}: must follow a single-line #if`);
      const branch = { c: cond, body: [] as CNode[] };
      prev.branches.push(branch);
      this.pos++;
      this.frames.push({ body: branch.body, pending: [], kind: "short", line });
      this.whitespace(1);
      const outer = this.limit;
      this.limit = this.eol().end;
      const depth = this.frames.length;
      this.parse();
      this.limit = outer;
      if (this.frames.length !== depth) this.fail("a block directive cannot be opened inside a single-line #else");
      this.pop();
      return;
    }
    if (this.peek() === ":") this.pos++;
    this.whitespace();
    this.eatRestOfDirectiveTag(clear, eol1);
    const f = this.frame;
    if (f.kind !== "if") this.fail(`#${name} without an open #if`);
    this.commit();
    this.requireStatement();
    const ifNode = this.frames[this.frames.length - 2]!.body.at(-1) as Extract<CNode, { k: "if" }>;
    if (ifNode.branches.at(-1)!.c === undefined) this.fail(`#${name} after #else`);
    const branch = { c: cond, body: [] as CNode[] };
    ifNode.branches.push(branch);
    f.body = branch.body;
  }

  eatEnd(): void {
    const clear = this.isLineClear();
    const line = this.line();
    this.pos += 4; // #end
    this.whitespace();
    const name = END_NAMES.find((n) => this.startsWith(n));
    if (!name) this.fail("Invalid end directive");
    const eol1 = this.eol().start;
    this.scanExpr({}); // Cheetah eats whatever follows on the tag
    this.eatRestOfDirectiveTag(clear, eol1);
    const f = this.frame;
    if (f.kind === "root" || f.kind === "short") throw new TemplateSyntax(`#end ${name} found, but no directive is open`, line);
    if (f.kind !== name) throw new TemplateSyntax(`#end ${name} found, expected #end ${f.kind} (opened on line ${f.line})`, line);
    this.pop();
  }

  eatSet(): void {
    const clear = this.isLineClear();
    const eol1 = this.eol().start;
    const line = this.line();
    this.pos += 4; // #set
    this.whitespace();
    const style = /^(local|global|module)\b/.exec(this.src.slice(this.pos, this.pos + 16))?.[1];
    if (style === "global" || style === "module") this.fail(`#set ${style} is not supported`);
    if (style === "local") {
      this.pos += 5;
      this.whitespace();
    }
    const lhs = this.scanExpr({ breakAt: ASSIGN_OPS, plain: true }).trim();
    const op = ASSIGN_OPS.slice().sort((a, b) => b.length - a.length).find((o) => this.startsWith(o));
    if (!op) this.fail("Expected assignment operator");
    this.pos += op.length;
    const rhs = this.scanExpr({});
    this.eatRestOfDirectiveTag(clear, eol1);
    if (!["=", "+=", "-=", "*="].includes(op)) this.fail(`#set with ${op} is not supported`, this.pos);
    const targets = lhs.split(",").map((t) => t.trim()).filter((t, i, a) => t !== "" || i < a.length - 1);
    const clean = targets.map((t) => t.replace(/^\((.*)\)$/, "$1").trim());
    if (!clean.length || clean.some((t) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(t))) throw new TemplateSyntax(`#set ${lhs}: only plain names can be assigned`, line);
    if (op !== "=" && clean.length !== 1) throw new TemplateSyntax(`#set ${lhs} ${op}: only one name can be updated`, line);
    this.commit();
    this.frame.body.push({ k: "set", targets: clean, op, e: this.compile(rhs, line), line });
  }

  eatSilent(): void {
    const clear = this.isLineClear();
    const eol1 = this.eol().start;
    const line = this.line();
    this.pos += 7; // #silent
    const src = this.scanExpr({}).trim();
    if (!src) this.fail("#silent needs an expression");
    this.eatRestOfDirectiveTag(clear, eol1);
    this.commit();
    this.frame.body.push({ k: "silent", e: this.compile(src, line), line });
  }

  eatRaw(): void {
    const clear = this.isLineClear();
    const eol1 = this.eol().start;
    this.pos += 4; // #raw
    this.whitespace();
    let raw: string;
    if (this.shortForm()) {
      this.pos++;
      this.whitespace(1);
      raw = this.readToEOL(false);
    } else {
      if (this.peek() === ":") this.pos++;
      this.whitespace();
      this.eatRestOfDirectiveTag(clear, eol1);
      raw = this.eatToEndRaw();
    }
    this.addText(raw); // Compiler.addRawText: a pending chunk, never unescaped
  }

  /** Parser._eatToThisEndDirective('raw'). */
  eatToEndRaw(): string {
    const start = this.pos;
    let finalPos = start;
    let endRawPos = start;
    let clear = false;
    while (!this.atEnd()) {
      if (this.peek() === "#" && this.matchDirective() === "end") {
        endRawPos = this.pos;
        this.pos += 4;
        this.whitespace();
        if (this.startsWith("raw")) {
          if (this.isLineClear(endRawPos)) {
            clear = true;
            endRawPos = this.findBOL(endRawPos);
          }
          this.pos += 3;
          this.whitespace();
          finalPos = this.pos;
          break;
        }
      }
      this.pos++;
      finalPos = endRawPos = this.pos;
    }
    const text = this.src.slice(start, endRawPos);
    this.pos = finalPos;
    const eol1 = this.eol().start;
    if (this.peek() === "#" && this.notEscaped()) this.pos++;
    else if (clear && !this.atEnd() && "\r\n".includes(this.peek())) this.readToEOL(true);
    if (clear && this.pos > eol1) this.handleWS();
    return text;
  }

  // ------------------------------------------------------------ expressions
  /** Python source of one Python token at pos (strings whole), advancing past it. */
  pyToken(): string {
    const rest = this.src.slice(this.pos, this.pos + 4);
    const sm = /^([rRuUbBfF]{0,2})('''|"""|'|")/.exec(rest);
    if (sm) {
      const q = sm[2]!;
      let j = this.pos + sm[0].length;
      while (j < this.src.length && !this.src.startsWith(q, j)) {
        if (this.src[j] === "\\") j++;
        else if (q.length === 1 && (this.src[j] === "\n" || this.src[j] === "\r")) this.fail("EOL while scanning string literal", j);
        j++;
      }
      if (j >= this.src.length) this.fail("EOF in string literal");
      const tok = this.src.slice(this.pos, j + q.length);
      this.pos = j + q.length;
      return tok;
    }
    const name = this.identifierAt();
    if (name) {
      this.pos += name.length;
      return name;
    }
    const num = /^(?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[jJ]?)/.exec(this.src.slice(this.pos, this.pos + 64));
    if (num) {
      this.pos += num[0].length;
      return num[0];
    }
    const op = PY_OPS.find((o) => this.startsWith(o)) ?? this.peek();
    this.pos += op.length;
    return op;
  }

  scanExpr(opts: { enclosed?: boolean; enclosures?: string[]; breakAt?: string[]; plain?: boolean }): string {
    return this.scanExprWords(opts).src;
  }

  /** Parser.getExpressionParts: Cheetah expression text -> Python source, $vars replaced by holes. */
  scanExprWords(opts: { enclosed?: boolean; enclosures?: string[]; breakAt?: string[]; plain?: boolean }): { src: string; words: string[] } {
    const enc = opts.enclosures ?? [];
    let out = "";
    const words: string[] = [];
    for (;;) {
      if (this.atEnd()) {
        if (enc.length) this.fail(`EOF was reached before a matching '${CLOSE[enc[enc.length - 1]!]}' was found for the '${enc[enc.length - 1]}'`);
        break;
      }
      const c = this.peek();
      if ("{([".includes(c)) {
        out += c;
        enc.push(c);
        this.pos++;
      } else if (opts.enclosed && !enc.length) break;
      else if ("])}".includes(c)) {
        if (!enc.length || enc[enc.length - 1] !== OPEN[c]) this.fail(`unmatched '${c}'`);
        enc.pop();
        out += c;
        this.pos++;
      } else if (" \f\t".includes(c)) out += this.whitespace();
      else if (c === "#" && this.notEscaped() && !enc.length) break;
      else if (c === "\\" && this.pos + 1 < this.src.length) {
        const m = /^[ \f\t]*(?:\r\n|\r|\n)/.exec(this.src.slice(this.pos + 1, this.pos + 64));
        if (!m) this.fail("Line ending expected", this.pos + 1);
        this.pos += 1 + m[0].length;
      } else if (c === "\r" || c === "\n") {
        if (!enc.length) break;
        this.pos++;
      } else if (c === "$" && IDENT_START.test(this.peek(1))) {
        this.pos++;
        out += this.cheetahVar(!!opts.plain);
      } else if (this.matchVarStart()) {
        this.fail("${...}, $(...), $[...] and $!var are only valid in text, not inside expressions");
      } else {
        const before = this.pos;
        const tok = this.pyToken();
        if (!enc.length && opts.breakAt?.includes(tok)) {
          this.pos = before;
          break;
        }
        out += tok;
        if (/^[A-Za-z_]/.test(tok) && !/^[rRuUbBfF]{0,2}['"]/.test(tok)) {
          if (!enc.length) words.push(tok);
          if (tok === "for") out += this.scanExpr({ plain: true, breakAt: ["in"] });
          else {
            out += this.whitespace();
            if (!this.atEnd() && this.peek() === "(") out += this.callArgs();
          }
        }
      }
    }
    return { src: out, words };
  }

  /** Parser.getCallArgString: "(...)" with $vars inside; `$name=` keyword names stay plain. */
  callArgs(): string {
    const startLine = this.pos;
    this.pos++;
    const enc = ["("];
    let out = "(";
    for (;;) {
      if (this.atEnd()) this.fail("EOF was reached before a matching ')' was found for the '('", startLine);
      const c = this.peek();
      if (")}]".includes(c)) {
        this.pos++;
        if (enc[enc.length - 1] !== OPEN[c]) this.fail(`unmatched '${c}'`, this.pos - 1);
        enc.pop();
        out += ")";
        break;
      } else if (" \t\f\r\n".includes(c)) {
        out += c;
        this.pos++;
      } else if (c === "$" && IDENT_START.test(this.peek(1))) {
        const start = this.pos;
        this.pos++;
        let code = this.cheetahVar(false);
        const ws = this.whitespace();
        if (this.peek() === "=" && this.peek(1) !== "=") {
          const end = this.pos;
          this.pos = start + 1;
          code = this.cheetahVar(true);
          this.pos = end + 1;
          out += code + ws + "=";
        } else out += code + ws;
      } else if (this.matchVarStart()) {
        this.fail("${...}, $(...), $[...] and $!var are only valid in text, not inside expressions");
      } else {
        const before = this.pos;
        let tok = this.pyToken();
        if ("{([".includes(tok)) {
          this.pos = before;
          tok = this.scanExpr({ enclosed: true });
        }
        out += tok;
      }
    }
    return out;
  }

  /** A $var's name chunks (Parser.getCheetahVarNameChunks) as Python source: a hole per NameMapper step. */
  cheetahVar(plain: boolean): string {
    if (this.peek() === "!") this.pos++;
    const chunks: Array<{ name: string; autoCall: boolean; rest: string }> = [];
    while (!this.atEnd()) {
      let autoCall = true;
      let rest = "";
      const c = this.peek();
      if (!IDENT_CHAR.test(c) && c !== ".") break;
      if (c === ".") {
        if (IDENT_CHAR.test(this.peek(1))) this.pos++;
        else break;
      }
      let dotted = this.dottedName();
      if (!this.atEnd() && "([".includes(this.peek())) {
        rest = this.peek() === "(" ? this.callArgs() : this.scanExpr({ enclosed: true });
        const period = Math.max(dotted.lastIndexOf("."), 0);
        if (period) {
          chunks.push({ name: dotted.slice(0, period), autoCall, rest: "" });
          dotted = dotted.slice(period + 1);
        }
        if (rest.startsWith("(")) autoCall = false;
      }
      chunks.push({ name: dotted, autoCall, rest });
    }
    if (!chunks.length) this.fail("expected a name after $");
    if (plain) return chunks.map((c) => c.name + c.rest).join(".");
    let code = "";
    chunks.forEach((chunk, i) => {
      const prev = i === 0 ? undefined : this.compile(code, this.line());
      const hole = this.hole({ k: "hook", f: (scope) => (prev ? valueForName(evaluate(prev, scope), chunk.name, chunk.autoCall, chunk.name) : valueFromSearchList(scope, chunk.name, chunk.autoCall)) });
      code = hole + chunk.rest;
    });
    return code;
  }

  dottedName(): string {
    if (!IDENT_CHAR.test(this.peek())) this.fail("expected a name");
    let name = "";
    while (this.pos < this.src.length) {
      const c = this.peek();
      if (IDENT_CHAR.test(c)) {
        const id = /^[A-Za-z0-9_]+/.exec(this.src.slice(this.pos, this.pos + 256))![0];
        name += id;
        this.pos += id.length;
      } else if (c === "." && IDENT_CHAR.test(this.peek(1))) {
        name += c;
        this.pos++;
      } else break;
    }
    return name;
  }

  hole(node: Node): string {
    const name = `_cheetah_hole_${this.holes.size}_`;
    this.holes.set(name, node);
    return name;
  }

  /** Python source (with holes) -> expression node. */
  compile(src: string, line: number): Node {
    let node: Node;
    try {
      node = parseExpression(src.trim());
    } catch (e) {
      throw new TemplateSyntax((e as Error).message.replace(/_cheetah_hole_\d+_/g, "$var"), line);
    }
    return this.fill(node) as Node;
  }

  forHead(src: string, line: number): { targets: string[]; it: Node } {
    const m = /^\s*for\b([\s\S]*)$/.exec(src);
    try {
      if (!m) throw new PyException("SyntaxError", "expected #for NAME in EXPR");
      const h = parseForHead(m[1]!);
      return { targets: h.targets, it: this.fill(h.it) as Node };
    } catch (e) {
      throw new TemplateSyntax((e as Error).message.replace(/_cheetah_hole_\d+_/g, "$var"), line);
    }
  }

  private fill(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((x) => this.fill(x));
    if (v && typeof v === "object") {
      const n = v as { k?: string; n?: string };
      if (n.k === "name" && typeof n.n === "string" && this.holes.has(n.n)) return this.holes.get(n.n);
      if (n.k === "const" || n.k === "hook") return v;
      const out: Record<string, unknown> = {};
      for (const [key, x] of Object.entries(v)) out[key] = this.fill(x);
      return out;
    }
    return v;
  }
}
