// Renders a parsed Jinja2 template: Jinja2 3.x's scoping (loop bodies and macros have their
// own scope, `if` does not, top-level assignments are exported), attribute/item lookup with
// Undefined fallbacks, macros and call blocks, blocks and inheritance, include and import.
import type { Expr, OwnedNames, Stmt, Target, TemplateAst } from "./ast.js";
import { callValue, isPyFunction, pyFunction, type Kwargs, type PyFunction } from "../python/callables.js";
import { hostMethod } from "../python/host-objects.js";
import { pyMethod, type Lookup } from "../python/methods.js";
import { binaryOp, unaryOp } from "../python/operators.js";
import {
  compare, contains, isMapping, isNumber, iterate, keyOf, mappingEntries, mappingGet, mappingHas, PyException, PyFloat,
  pyEq, pyStr, PyTuple, strValue, toTuple, truthy,
} from "../python/values.js";
import { Cycler, htmlEscape, isUndefined, JINJA_MISSING, joiner, LoopContext, Markup, Namespace, PyIterator, PyRange, Undefined } from "./runtime.js";
import { FILTERS, type FilterEnv } from "./filters.js";
import { TESTS } from "./tests.js";
import { compileStmt, type StmtFn } from "./compiled.js";
import { namesIn } from "./scopes.js";

/** A template as the interpreter needs it. */
export interface LoadedTemplate {
  name: string;
  ast: TemplateAst;
  /** The top-level statements as closures (compiled.ts), made at the first render of this template version. */
  compiled?: StmtFn[];
}

/** What the interpreter asks of its environment. */
export interface Host {
  readonly autoescape: boolean;
  /** The application's own filters (value, ...positional arguments). */
  readonly filters: Record<string, (value: unknown, ...args: unknown[]) => unknown>;
  /** Loads a template named from `from` (relative names resolved as the loader does). */
  load(name: string, from: string): LoadedTemplate;
}

/** Error raised while rendering, with the line of the statement or expression being evaluated. */
export class LocatedError extends Error {
  constructor(
    readonly error: unknown,
    readonly file: string,
    readonly line: number,
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}

export class Frame {
  readonly vars: Map<string, unknown>;
  /** The frame of the compiled function (template body, macro call, block) this one is part of. */
  readonly fn: Frame;
  constructor(
    readonly parent: Frame | null,
    readonly ctx: Context,
    readonly template: string,
    vars?: Map<string, unknown>,
    fn?: Frame,
  ) {
    this.vars = vars ?? new Map();
    this.fn = fn ?? this;
  }
  child(): Frame {
    return new Frame(this, this.ctx, this.template, undefined, this.fn);
  }
  /** The innermost binding of `name`, or MISSING (no object per lookup: names are looked up often). */
  lookup(name: string): unknown {
    for (let f: Frame | null = this; f; f = f.parent) {
      const v = f.vars.get(name);
      if (v !== undefined || f.vars.has(name)) return v;
    }
    const v = this.ctx.vars.get(name);
    return v !== undefined || this.ctx.vars.has(name) ? v : MISSING;
  }
  /** Every visible name (context first, innermost last), for `include` with context. */
  all(): Map<string, unknown> {
    const chain: Frame[] = [];
    for (let f: Frame | null = this; f; f = f.parent) chain.unshift(f);
    const out = new Map(this.ctx.vars);
    for (const f of chain) for (const [k, v] of f.vars instanceof ScopeVars ? f.vars.visible() : f.vars) out.set(k, v);
    return out;
  }
}

interface BlockImpl {
  node: Stmt & { k: "block" };
  template: string;
}

/** jinja2.runtime.Context: the variables of one render and the block stacks of its inheritance chain. */
class Context {
  #blocks?: Map<string, BlockImpl[]>;
  constructor(readonly vars: Map<string, unknown>) {}
  /** Made when first asked for (most templates have no blocks). */
  get blocks(): Map<string, BlockImpl[]> {
    return (this.#blocks ??= new Map());
  }
}

/** `import 'x' as m`: the template's exported names; printing it prints its output. */
class TemplateModule {
  constructor(
    readonly name: string,
    readonly exports: Map<string, unknown>,
    readonly body: string,
  ) {}
}

interface MacroInfo {
  name: string;
  params: string[];
  catchKwargs: boolean;
  catchVarargs: boolean;
  caller: boolean;
}

const MACRO = Symbol("macro");
type Macro = PyFunction & { [MACRO]: MacroInfo };

const NUMBER_ATTRS = new Set(["real", "imag", "numerator", "denominator", "conjugate", "bit_length", "bit_count", "to_bytes", "from_bytes", "as_integer_ratio", "is_integer", "hex", "fromhex"]);
const JS_ONLY = new Set(["constructor", "toString", "valueOf", "toJSON", "toLocaleString", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable"]);

/**
 * The variables of one run of a loop or `with` block that has a `scope` (scopes.ts): the names it
 * owns live in `cells`, the Python locals of its depth in its compiled function, which sibling
 * scopes at that depth (and the macros made in them) share; any other name is its own. Clearing
 * (a new iteration: Jinja2 loads them again) removes its owned names, so they are looked up
 * outside until assigned.
 */
class ScopeVars extends Map<string, unknown> {
  constructor(
    private readonly cells: Map<string, unknown>,
    private readonly owned: ReadonlySet<string>,
  ) {
    super();
  }
  override get(name: string): unknown {
    return this.owned.has(name) ? this.cells.get(name) : super.get(name);
  }
  override has(name: string): boolean {
    return this.owned.has(name) ? this.cells.has(name) : super.has(name);
  }
  override set(name: string, value: unknown): this {
    if (this.owned.has(name)) this.cells.set(name, value);
    else super.set(name, value);
    return this;
  }
  override delete(name: string): boolean {
    return this.owned.has(name) ? this.cells.delete(name) : super.delete(name);
  }
  override clear(): void {
    for (const n of this.owned) this.cells.delete(n);
    super.clear();
  }
  /** Every name this run sees here, owned or its own (Frame.all: an include with context). */
  *visible(): Generator<[string, unknown]> {
    yield* super.entries();
    for (const n of this.owned) if (this.cells.has(n)) yield [n, this.cells.get(n)];
  }
}

/** Jinja2's leave_frame: every name the scope owns set to `missing` (read raw: its parameters) or undefined. */
function leaveScope(f: Frame, scope: OwnedNames): void {
  f.vars.clear();
  for (const p of scope.params) f.vars.set(p, JINJA_MISSING);
  for (const n of scope.others) f.vars.set(n, new Undefined(undefined, undefined, n));
}

function isSliceNode(e: Expr): e is Expr & { k: "slice" } {
  return e.k === "slice";
}

/** `self`: renders a block of the current inheritance chain by name (self.name()). */
class TemplateReference {
  constructor(readonly ctx: Context) {}
}

export class Renderer implements FilterEnv, Lookup {
  autoescape: boolean;
  /** Per compiled function (its frame), the locals of each depth that scopes own (ScopeVars); made for the first scope (few templates have one). */
  private scopeCells?: WeakMap<Frame, Map<number, Map<string, unknown>>>;

  constructor(private readonly host: Host) {
    this.autoescape = host.autoescape;
  }

  // ------------------------------------------------------------ entry points
  render(tmpl: LoadedTemplate, vars: Map<string, unknown>): string {
    return this.renderRoot(tmpl, new Context(vars));
  }

  private renderRoot(tmpl: LoadedTemplate, ctx: Context): string {
    const out: string[] = [];
    let current: LoadedTemplate | undefined = tmpl;
    while (current) {
      // (Most templates have no blocks: no iterator made for them.)
      if (current.ast.blocks.size > 0) for (const [name, node] of current.ast.blocks) {
        const stack = ctx.blocks.get(name) ?? [];
        stack.push({ node, template: current.name });
        ctx.blocks.set(name, stack);
      }
      const frame = new Frame(null, ctx, current.name, ctx.vars);
      let parent: LoadedTemplate | undefined;
      const body = current.ast.body;
      const compiled = (current.compiled ??= body.map(compileStmt));
      for (let i = 0; i < body.length; i++) {
        const s = body[i]!;
        if (parent && (s.k === "data" || s.k === "output" || s.k === "block")) continue;
        if (s.k === "extends") {
          if (parent) this.at(s.line, current.name, () => { throw new PyException("TemplateRuntimeError", "extended multiple times"); });
          parent = this.at(s.line, current.name, () => this.host.load(pyStr(this.eval(s.template, frame)), current!.name));
          continue;
        }
        // As exec() runs one statement: its errors located at its line.
        try {
          compiled[i]!(this, frame, parent ? [] : out);
        } catch (e) {
          if (e instanceof LocatedError) throw e;
          throw new LocatedError(e, frame.template, s.line);
        }
      }
      current = parent;
    }
    return out.join("");
  }

  /** Runs `f` with errors located at file:line. */
  private at<T>(line: number, file: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof LocatedError) throw e;
      throw new LocatedError(e, file, line);
    }
  }

  // ------------------------------------------------------------ statements
  /** Runs statements; an error is located at its statement's line (as `at`, without a closure per statement). */
  private exec(stmts: Stmt[], frame: Frame, out: string[]): void {
    for (const s of stmts) {
      if (s.k === "data") {
        out.push(s.text);
        continue;
      }
      try {
        this.stmt(s, frame, out);
      } catch (e) {
        if (e instanceof LocatedError) throw e;
        throw new LocatedError(e, frame.template, s.line);
      }
    }
  }

  /** @internal (compiled.ts) */
  stmt(s: Stmt, frame: Frame, out: string[]): void {
    switch (s.k) {
      case "data": out.push(s.text); return;
      case "output": out.push(this.output(this.eval(s.node, frame))); return;
      case "if": this.exec(truthy(this.eval(s.test, frame)) ? s.body : s.else_, frame, out); return;
      case "for": this.forLoop(s, frame, out); return;
      case "assign": this.assign(s.target, this.eval(s.node, frame), frame); return;
      case "assignblock": {
        const body: string[] = [];
        this.exec(s.body, frame.child(), body);
        let v: unknown = this.autoescape ? new Markup(body.join("")) : body.join("");
        if (s.filter) v = this.applyFilters(s.filter, v, frame);
        this.assign(s.target, v, frame);
        return;
      }
      case "macro": frame.vars.set(s.name, this.makeMacro(s.name, s.params, s.defaults, s.body, frame)); return;
      case "callblock": {
        const caller = this.makeMacro("caller", s.params, s.defaults, s.body, frame);
        const call = s.call;
        const f = this.eval(call.node, frame);
        const { args, kwargs: given } = this.callArgs(call, frame);
        const kwargs = new Map(given);
        kwargs.set("caller", caller);
        out.push(this.output(this.call(f, args, kwargs)));
        return;
      }
      case "filterblock": {
        const body: string[] = [];
        this.exec(s.body, frame.child(), body);
        const v = this.autoescape ? new Markup(body.join("")) : body.join("");
        out.push(this.output(this.applyFilters(s.filter, v, frame)));
        return;
      }
      case "with": {
        const values = s.values.map((v) => this.eval(v, frame));
        const inner = s.scope ? this.scopeFrame(s.scope, frame) : frame.child();
        s.targets.forEach((t, i) => this.assign(t, values[i], inner));
        this.exec(s.body, inner, out);
        if (s.scope) leaveScope(inner, s.scope);
        return;
      }
      case "block": {
        const stack = frame.ctx.blocks.get(s.name);
        const impl = stack?.[0] ?? { node: s, template: frame.template };
        out.push(this.renderBlock(impl, stack ?? [impl], 0, s.scoped ? frame : null, frame.ctx));
        return;
      }
      case "extends": throw new PyException("TemplateRuntimeError", "extends is only allowed at the top level of a template");
      case "autoescape": {
        const saved = this.autoescape;
        this.autoescape = truthy(this.eval(s.value, frame));
        try {
          this.exec(s.body, frame, out);
        } finally {
          this.autoescape = saved;
        }
        return;
      }
      case "include": out.push(this.include(s, frame)); return;
      case "import": frame.vars.set(s.target, this.importModule(s.template, s.withContext, frame)); return;
      case "fromimport": {
        const mod = this.importModule(s.template, s.withContext, frame);
        for (const [name, alias] of s.names) {
          frame.vars.set(alias, mod.exports.has(name)
            ? mod.exports.get(name)
            : new Undefined(`the template ${JSON.stringify(mod.name).replace(/"/g, "'")} (imported on line ${s.line}) does not export the requested name ${JSON.stringify(name).replace(/"/g, "'")}`));
        }
        return;
      }
    }
  }

  private renderBlock(impl: BlockImpl, stack: BlockImpl[], depth: number, scope: Frame | null, ctx: Context): string {
    const frame = scope ? new Frame(scope, ctx, impl.template) : new Frame(null, ctx, impl.template);
    const next = stack[depth + 1];
    frame.vars.set("super", pyFunction("super", () => {
      if (!next) throw new PyException("UndefinedError", `there is no parent block called '${impl.node.name}'.`);
      const text = this.renderBlock(next, stack, depth + 1, scope, ctx);
      return this.autoescape ? new Markup(text) : text;
    }));
    if (impl.node.required && depth === stack.length - 1) {
      throw new PyException("TemplateRuntimeError", `Required block '${impl.node.name}' not found`);
    }
    const out: string[] = [];
    this.exec(impl.node.body, frame, out);
    return out.join("");
  }

  private forLoop(s: Stmt & { k: "for" }, frame: Frame, out: string[]): void {
    const scope = s.scope;
    const run = (iterable: unknown, depth0: number): string[] => {
      const buf: string[] = [];
      let items = iterate(iterable);
      if (s.test) {
        items = items.filter((item) => {
          const f = frame.child();
          this.assign(s.target, item, f);
          return truthy(this.eval(s.test!, f));
        });
      }
      const recurse = s.recursive
        ? pyFunction("loop", (args) => {
          const text = run(args[0], depth0 + 1).join("");
          return this.autoescape ? new Markup(text) : text;
        })
        : undefined;
      const loop = new LoopContext(items, depth0, recurse);
      // A loop with a scope has one frame for all its iterations (scopes.ts); a recursive one's
      // body is a function of its own (each call its own locals).
      const shared = scope && (s.recursive ? new Frame(frame, frame.ctx, frame.template) : this.scopeFrame(scope, frame));
      for (let i = 0; i < items.length; i++) {
        loop.index0 = i;
        let f: Frame;
        if (shared) (f = shared).vars.clear();
        else f = frame.child();
        this.assign(s.target, items[i], f);
        f.vars.set("loop", loop);
        this.exec(s.body, f, buf);
      }
      if (!items.length) this.exec(s.else_, frame.child(), buf);
      // Jinja2's leave_frame (a recursive loop without else keeps its Python scope instead).
      if (shared && (!s.recursive || s.else_.length)) leaveScope(shared, scope);
      return buf;
    };
    out.push(...run(this.eval(s.iter, frame), 0));
  }

  /** The frame of a run of a loop or `with` that has a `scope`, in `frame`: its owned names in the locals of its depth in `frame`'s function (emptied of them first). */
  private scopeFrame(scope: OwnedNames, frame: Frame): Frame {
    const fns = (this.scopeCells ??= new WeakMap());
    let levels = fns.get(frame.fn);
    if (!levels) fns.set(frame.fn, (levels = new Map()));
    let cells = levels.get(scope.level);
    if (!cells) levels.set(scope.level, (cells = new Map()));
    const vars = new ScopeVars(cells, new Set([...scope.params, ...scope.others]));
    vars.clear();
    return new Frame(frame, frame.ctx, frame.template, vars, frame.fn);
  }

  /** @internal (compiled.ts) */
  assign(t: Target, value: unknown, frame: Frame): void {
    if (t.k === "name") {
      frame.vars.set(t.name, value);
      return;
    }
    if (t.k === "nsref") {
      const ns = frame.lookup(t.name);
      if (!(ns instanceof Namespace)) throw new PyException("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
      ns.attrs.set(t.attr, value);
      return;
    }
    const items = iterate(value);
    if (items.length < t.items.length) throw new PyException("ValueError", `not enough values to unpack (expected ${t.items.length}, got ${items.length})`);
    if (items.length > t.items.length) throw new PyException("ValueError", `too many values to unpack (expected ${t.items.length})`);
    t.items.forEach((sub, i) => this.assign(sub, items[i], frame));
  }

  private makeMacro(name: string, params: string[], defaults: Expr[], body: Stmt[], defFrame: Frame): Macro {
    const used = namesIn(body);
    const explicitCaller = params.includes("caller");
    const info: MacroInfo = {
      name,
      params,
      catchKwargs: used.has("kwargs"),
      catchVarargs: used.has("varargs"),
      caller: used.has("caller") && !explicitCaller,
    };
    const firstDefault = params.length - defaults.length;
    const f = pyFunction(name, (args, kwargsIn) => {
      const kwargs = new Map(kwargsIn);
      const frame = new Frame(defFrame, defFrame.ctx, defFrame.template);
      const given = args.slice(0, params.length);
      let foundCaller = explicitCaller && given.length === params.length;
      params.forEach((p, i) => {
        let v: unknown;
        let have = i < given.length;
        if (have) v = given[i];
        else if (kwargs.has(p)) {
          v = kwargs.get(p);
          kwargs.delete(p);
          have = true;
          if (p === "caller") foundCaller = true;
        }
        if (!have) {
          v = i >= firstDefault ? this.eval(defaults[i - firstDefault]!, frame) : new Undefined(`parameter '${p}' was not provided`, undefined, p);
        }
        frame.vars.set(p, v);
      });
      if (info.caller && !foundCaller) {
        const c = kwargs.get("caller");
        kwargs.delete("caller");
        frame.vars.set("caller", c ?? new Undefined("No caller defined", undefined, "caller"));
      }
      if (info.catchKwargs) frame.vars.set("kwargs", new Map(kwargs));
      else if (kwargs.size) {
        if (kwargs.has("caller")) throw new PyException("TypeError", `macro '${name}' was invoked with two values for the special caller argument. This is most likely a bug.`);
        throw new PyException("TypeError", `macro '${name}' takes no keyword argument '${[...kwargs.keys()][0]}'`);
      }
      if (info.catchVarargs) frame.vars.set("varargs", toTuple(args.slice(params.length)));
      else if (args.length > params.length) throw new PyException("TypeError", `macro '${name}' takes not more than ${params.length} argument(s)`);
      const out: string[] = [];
      this.exec(body, frame, out);
      return this.autoescape ? new Markup(out.join("")) : out.join("");
    }, `<Macro '${name}'>`) as Macro;
    f[MACRO] = info;
    return f;
  }

  private include(s: Stmt & { k: "include" }, frame: Frame): string {
    const target = this.eval(s.template, frame);
    const names = Array.isArray(target) ? target.map((x) => pyStr(x)) : [pyStr(target)];
    let tmpl: LoadedTemplate | undefined;
    let lastErr: unknown;
    for (const n of names) {
      try {
        tmpl = this.host.load(n, frame.template);
        break;
      } catch (e) {
        if (!(e instanceof PyException) || e.pyType !== "TemplateNotFound") throw e;
        lastErr = e;
      }
    }
    if (!tmpl) {
      if (s.ignoreMissing) return "";
      if (names.length > 1) throw new PyException("TemplatesNotFound", `none of the templates given were found: ${names.join(", ")}`);
      throw lastErr;
    }
    const vars = s.withContext ? frame.all() : new Map<string, unknown>();
    return this.renderRoot(tmpl, new Context(vars));
  }

  private importModule(template: Expr, withContext: boolean, frame: Frame): TemplateModule {
    const tmpl = this.host.load(pyStr(this.eval(template, frame)), frame.template);
    const vars = withContext ? frame.all() : new Map<string, unknown>();
    const before = new Set(vars.keys());
    const ctx = new Context(vars);
    const body = this.renderRoot(tmpl, ctx);
    const exports = new Map<string, unknown>();
    for (const [k, v] of ctx.vars) if (!k.startsWith("_") && (!before.has(k) || !withContext)) exports.set(k, v);
    return new TemplateModule(tmpl.name, exports, body);
  }

  // ------------------------------------------------------------ expressions
  output(v: unknown): string {
    if (this.autoescape) return v instanceof Markup ? v.text : htmlEscape(this.str(v));
    return this.str(v);
  }

  str(v: unknown): string {
    if (v instanceof TemplateModule) return v.body;
    return pyStr(v);
  }

  eval(e: Expr, frame: Frame): unknown {
    switch (e.k) {
      case "const": return e.value;
      case "name": {
        const found = frame.lookup(e.name);
        if (found !== MISSING) return found;
        if (e.name === "self") return new TemplateReference(frame.ctx);
        const g = GLOBALS.get(e.name);
        return g !== undefined ? g : new Undefined(undefined, undefined, e.name);
      }
      case "tuple": return toTuple(e.items.map((x) => this.eval(x, frame)));
      case "list": return e.items.map((x) => this.eval(x, frame));
      case "dict": {
        const m = new Map<unknown, unknown>();
        for (const [k, v] of e.items) m.set(keyOf(this.eval(k, frame)), this.eval(v, frame));
        return m;
      }
      case "getattr": return this.getattr(this.eval(e.node, frame), e.attr);
      case "getitem": {
        const obj = this.eval(e.node, frame);
        if (isSliceNode(e.arg)) return this.slice(obj, e.arg, frame);
        return this.getitem(obj, this.eval(e.arg, frame));
      }
      case "slice": throw new PyException("TemplateSyntaxError", "a slice is only allowed in a subscript");
      case "call": {
        const f = this.eval(e.node, frame);
        const { args, kwargs } = this.callArgs(e, frame);
        return this.call(f, args, kwargs);
      }
      case "filter": return this.applyFilters(e, undefined, frame);
      case "test": {
        const v = this.eval(e.node, frame);
        const { args, kwargs } = this.callArgs(e, frame);
        const r = this.callTest(e.name, v, args, kwargs);
        return e.negate ? !r : r;
      }
      case "binop": {
        const a = this.eval(e.left, frame);
        const b = this.eval(e.right, frame);
        if (isUndefined(a)) a.fail();
        if (isUndefined(b)) b.fail();
        if ((a instanceof Markup || b instanceof Markup) && (e.op === "+" || e.op === "%" || e.op === "*")) {
          throw new PyException("NotImplementedError", `'${e.op}' on Markup (escaped) strings is not supported`);
        }
        return binaryOp(e.op, a, b);
      }
      case "concat": {
        const parts = e.nodes.map((n) => this.eval(n, frame));
        if (this.autoescape && parts.some((p) => p instanceof Markup)) {
          return new Markup(parts.map((p) => (p instanceof Markup ? p.text : htmlEscape(this.str(p)))).join(""));
        }
        return parts.map((p) => this.str(p)).join("");
      }
      case "compare": {
        let left = this.eval(e.expr, frame);
        for (const [op, rn] of e.ops) {
          const right = this.eval(rn, frame);
          if (!this.compareOp(op, left, right)) return false;
          left = right;
        }
        return true;
      }
      case "and": { const a = this.eval(e.left, frame); return truthy(a) ? this.eval(e.right, frame) : a; }
      case "or": { const a = this.eval(e.left, frame); return truthy(a) ? a : this.eval(e.right, frame); }
      case "not": return !truthy(this.eval(e.node, frame));
      case "unary": {
        const v = this.eval(e.node, frame);
        if (isUndefined(v)) v.fail();
        return unaryOp(e.op, v);
      }
      case "cond":
        if (truthy(this.eval(e.test, frame))) return this.eval(e.expr1, frame);
        return e.expr2 ? this.eval(e.expr2, frame) : new Undefined(`the inline if-expression on line ${e.line} evaluated to false and no else section was defined.`);
    }
  }

  /** @internal (compiled.ts) */
  compareOp(op: string, a: unknown, b: unknown): boolean {
    switch (op) {
      case "==": return pyEq(a, b);
      case "!=": return !pyEq(a, b);
      case "in": return contains(b, a);
      case "notin": return !contains(b, a);
    }
    if (isUndefined(a)) a.fail();
    if (isUndefined(b)) b.fail();
    const c = compare(a, b, op);
    return op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
  }

  /** @internal (compiled.ts) */
  callArgs(e: { args: Expr[]; kwargs: Array<[string, Expr]>; dynArgs?: Expr; dynKwargs?: Expr }, frame: Frame): { args: unknown[]; kwargs: Kwargs } {
    const args: unknown[] = [];
    for (const a of e.args) args.push(this.eval(a, frame));
    if (e.dynArgs) args.push(...iterate(this.eval(e.dynArgs, frame)));
    if (e.kwargs.length === 0 && !e.dynKwargs) return { args, kwargs: NO_KWARGS };
    const kwargs: Kwargs = new Map();
    for (const [k, v] of e.kwargs) kwargs.set(k, this.eval(v, frame));
    if (e.dynKwargs) for (const [k, v] of mappingEntries(this.eval(e.dynKwargs, frame))) kwargs.set(pyStr(k), v);
    return { args, kwargs };
  }

  /** @internal (compiled.ts) */
  call(f: unknown, args: unknown[], kwargs: Kwargs): unknown {
    if (isUndefined(f)) f.fail();
    if (f instanceof LoopContext) {
      if (!f.recurse) throw new PyException("TypeError", "Tried to call non recursive loop.  Maybe you forgot the 'recursive' modifier.");
      return f.recurse(args, kwargs);
    }
    return callValue(f, args, kwargs);
  }

  /** A filter chain; the innermost node is null in filter and set blocks, whose text is `blockValue`. */
  private applyFilters(e: Expr, blockValue: unknown, frame: Frame): unknown {
    if (e.k !== "filter") return this.eval(e, frame);
    const inner = e.node === null ? blockValue : this.applyFilters(e.node, blockValue, frame);
    const { args, kwargs } = this.callArgs(e, frame);
    return this.callFilter(e.name, inner, args, kwargs);
  }

  callFilter(name: string, value: unknown, args: unknown[], kwargs: Kwargs): unknown {
    if (Object.prototype.hasOwnProperty.call(this.host.filters, name)) {
      if (kwargs.size) throw new PyException("TypeError", `the filter ${name} takes no keyword arguments`);
      return this.host.filters[name]!(value, ...args);
    }
    const f = FILTERS[name];
    if (!f || !Object.prototype.hasOwnProperty.call(FILTERS, name)) throw new PyException("TemplateRuntimeError", `No filter named '${name}' found.`);
    return f(this, value, args, kwargs);
  }

  callTest(name: string, value: unknown, args: unknown[], kwargs: Kwargs): boolean {
    const t = Object.prototype.hasOwnProperty.call(TESTS, name) ? TESTS[name] : undefined;
    if (!t) throw new PyException("TemplateRuntimeError", `No test named '${name}' found.`);
    return t(value, args, kwargs, TEST_ENV);
  }

  undefined(hint: string): Undefined {
    return new Undefined(hint);
  }

  private slice(obj: unknown, s: Expr & { k: "slice" }, frame: Frame): unknown {
    const bound = (x: Expr | undefined): number | null => {
      if (!x) return null;
      const v = this.eval(x, frame);
      if (v === null || v === undefined) return null;
      if (!isNumber(v) || v instanceof PyFloat) throw new PyException("TypeError", "slice indices must be integers or None or have an __index__ method");
      return Number(v);
    };
    const start = bound(s.start);
    const stop = bound(s.stop);
    const step = bound(s.step) ?? 1;
    if (isUndefined(obj)) obj.fail();
    const str = strValue(obj);
    const seq = str !== undefined ? [...str] : Array.isArray(obj) ? obj : undefined;
    if (!seq) return new Undefined(undefined, { value: obj }, "slice");
    if (step === 0) throw new PyException("ValueError", "slice step cannot be zero");
    const n = seq.length;
    const norm = (i: number | null, dflt: number, lo: number, hi: number) => {
      if (i === null) return dflt;
      if (i < 0) i += n;
      return Math.min(Math.max(i, lo), hi);
    };
    const out: unknown[] = [];
    if (step > 0) {
      for (let i = norm(start, 0, 0, n); i < norm(stop, n, 0, n); i += step) out.push(seq[i]);
    } else {
      for (let i = norm(start, n - 1, -1, n - 1); i > norm(stop, -1, -1, n - 1); i += step) out.push(seq[i]);
    }
    if (str !== undefined) return out.join("");
    return obj instanceof PyTuple ? toTuple(out) : out;
  }

  // ------------------------------------------------------------ lookup (environment.getattr / getitem)
  attr(o: unknown, name: string): unknown {
    const v = this.getattr(o, name);
    if (isUndefined(v)) throw new PyException("AttributeError", `'${pyStr(o)}' has no attribute '${name}'`);
    return v;
  }

  item(o: unknown, key: unknown): unknown {
    const v = this.getitem(o, key);
    if (isUndefined(v)) throw new PyException("KeyError", pyStr(key));
    return v;
  }

  /** The Python attribute `name` of `o`, or NOT_FOUND. */
  private pyAttr(o: unknown, name: string): unknown {
    if (name.startsWith("__")) throw new PyException("SecurityError", `access to the attribute ${name} is not allowed`);
    // The commonest receivers first: for a str or a dict (no class below is either) the checks below come to this.
    if (typeof o === "string" || o instanceof Map) return pyMethod(o, name, this) ?? NOT_FOUND;
    if (o instanceof LoopContext) return o.attr(name, undefinedFor, pyEq) ?? NOT_FOUND;
    if (o instanceof Namespace) return o.attrs.has(name) ? o.attrs.get(name) : NOT_FOUND;
    if (o instanceof Cycler) return o.attr(name) ?? NOT_FOUND;
    if (o instanceof TemplateModule) return o.exports.has(name) ? o.exports.get(name) : NOT_FOUND;
    if (o instanceof TemplateReference) {
      const stack = o.ctx.blocks.get(name);
      if (!stack) return NOT_FOUND;
      return pyFunction(name, () => {
        const text = this.renderBlock(stack[0]!, stack, 0, null, o.ctx);
        return this.autoescape ? new Markup(text) : text;
      });
    }
    if (o instanceof PyTuple && (name === "grouper" || name === "list") && Object.prototype.hasOwnProperty.call(o, name)) return (o as unknown as Record<string, unknown>)[name];
    if (isNumber(o) && NUMBER_ATTRS.has(name)) throw new PyException("NotImplementedError", `the number attribute '${name}' is not supported`);
    if (typeof o === "function") {
      const info = (o as Partial<Macro>)[MACRO];
      if (info) {
        const attrs: Record<string, unknown> = { name: info.name, arguments: toTuple(info.params), catch_kwargs: info.catchKwargs, catch_varargs: info.catchVarargs, caller: info.caller };
        return name in attrs ? attrs[name] : NOT_FOUND;
      }
      return NOT_FOUND;
    }
    const method = pyMethod(o, name, this);
    if (method) return method;
    if (o instanceof Markup || o instanceof PyIterator || o instanceof Undefined || o === null || o === undefined || typeof o !== "object") return NOT_FOUND;
    // Objects of the data model: their own attributes (getters and methods), not JavaScript's.
    if (Array.isArray(o) || o instanceof Map || o instanceof Set || JS_ONLY.has(name)) return NOT_FOUND;
    if (Object.getPrototypeOf(o) === Object.prototype || Object.getPrototypeOf(o) === null) return NOT_FOUND;
    if (!(name in (o as object))) return NOT_FOUND;
    const v = (o as Record<string, unknown>)[name];
    if (v === undefined) return NOT_FOUND;
    // A str subclass (a probe value): Python's str methods only, plus its own data (.json, .xdata).
    if (strValue(o) !== undefined && (typeof v === "function" || name === "length")) return NOT_FOUND;
    return typeof v === "function" && !isPyFunction(v) ? (v as (...a: unknown[]) => unknown).bind(o) : v;
  }

  getattr(o: unknown, name: string): unknown {
    if (isUndefined(o)) o.fail();
    const v = this.pyAttr(o, name);
    if (v !== NOT_FOUND) return v;
    const item = this.pyItem(o, name);
    return item !== NOT_FOUND ? item : new Undefined(undefined, { value: o }, name);
  }

  /** o[key] in Python, or NOT_FOUND where Python raises LookupError/TypeError. */
  private pyItem(o: unknown, key: unknown): unknown {
    const s = strValue(o);
    const seq = s !== undefined ? [...s] : Array.isArray(o) ? o : undefined;
    if (seq) {
      if (!isNumber(key) || key instanceof PyFloat) return NOT_FOUND;
      let i = Number(key === true ? 1 : key === false ? 0 : key);
      if (i < 0) i += seq.length;
      return i >= 0 && i < seq.length ? seq[i] : NOT_FOUND;
    }
    if (isMapping(o)) return mappingHas(o, key) ? mappingGet(o, key) : NOT_FOUND;
    const getitem = hostMethod(o, "__getitem__");
    if (getitem) {
      try {
        return getitem(key);
      } catch (e) {
        // Jinja2's getitem: LookupError and TypeError fall back to the attribute, then Undefined.
        const type = (e as { pyType?: string }).pyType;
        if (type === "KeyError" || type === "IndexError" || type === "TypeError") return NOT_FOUND;
        throw e;
      }
    }
    return NOT_FOUND;
  }

  getitem(o: unknown, key: unknown): unknown {
    if (isUndefined(o)) o.fail();
    const v = this.pyItem(o, key);
    if (v !== NOT_FOUND) return v;
    const name = strValue(key);
    if (name !== undefined) {
      const a = this.pyAttr(o, name);
      if (a !== NOT_FOUND) return a;
    }
    return new Undefined(undefined, { value: o }, name ?? pyStr(key));
  }
}

const NOT_FOUND = Symbol("not found");
const undefinedFor = (hint: string): Undefined => new Undefined(hint);
/** What tests may ask of the environment (the same for every call). */
const TEST_ENV = { hasFilter: (n: string) => Object.prototype.hasOwnProperty.call(FILTERS, n), hasTest: (n: string) => Object.prototype.hasOwnProperty.call(TESTS, n) };
/** The keyword arguments of a call without any (most calls): shared, so never changed (a callee that adds copies first). */
export const NO_KWARGS: Kwargs = new Map();
/** Frame.lookup's answer for a name bound nowhere. */
export const MISSING = Symbol("missing");

/** Jinja2's default global of that name (undefined: none). */
export function globalNamed(name: string): unknown {
  return GLOBALS.get(name);
}

/** `self` where no variable of that name is bound. */
export function selfReference(f: Frame): TemplateReference {
  return new TemplateReference(f.ctx);
}

/** Jinja2's default globals: range, dict, lipsum, cycler, joiner, namespace. */
const GLOBALS = new Map<string, unknown>([
  ["range", pyFunction("range", (args) => {
    const ns = args.map((a) => {
      if (!isNumber(a) || a instanceof PyFloat) throw new PyException("TypeError", `'${typeof a === "string" ? "str" : "float"}' object cannot be interpreted as an integer`);
      return Number(a);
    });
    if (ns.length === 1) return PyRange.make(0, ns[0]!, 1);
    if (ns.length === 2 || ns.length === 3) return PyRange.make(ns[0]!, ns[1]!, ns[2] ?? 1);
    throw new PyException("TypeError", `range expected at most 3 arguments, got ${ns.length}`);
  }, "<class 'range'>")],
  ["dict", pyFunction("dict", (args, kwargs) => {
    const m = new Map<unknown, unknown>();
    if (args.length) for (const [k, v] of isMapping(args[0]) ? mappingEntries(args[0]) : iterate(args[0]).map((p) => iterate(p))) m.set(keyOf(k), v);
    for (const [k, v] of kwargs) m.set(k, v);
    return m;
  }, "<class 'dict'>")],
  ["lipsum", pyFunction("lipsum", () => { throw new PyException("NotImplementedError", "lipsum() is random text and is not supported"); })],
  ["cycler", pyFunction("cycler", (args) => new Cycler(args), "<class 'jinja2.utils.Cycler'>")],
  ["joiner", pyFunction("joiner", (args, kwargs) => joiner(pyStr(args[0] ?? kwargs.get("sep") ?? ", ")), "<class 'jinja2.utils.Joiner'>")],
  ["namespace", pyFunction("namespace", (args, kwargs) => {
    const ns = new Namespace();
    for (const a of args) for (const [k, v] of mappingEntries(a)) ns.attrs.set(pyStr(k), v);
    for (const [k, v] of kwargs) ns.attrs.set(k, v);
    return ns;
  }, "<class 'jinja2.utils.Namespace'>")],
]);
