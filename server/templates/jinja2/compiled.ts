// A parsed template turned into closures once per template version, so a render runs no dispatch on
// node kinds (Cfg renders on every cold build, early in a process too, before the JIT has optimized
// the interpreter). Each closure does exactly what the interpreter's case for its node does, with the
// Renderer as the runtime; the rarer statements (macros, blocks, includes, with, call and filter
// blocks, recursive or filtered loops) and slices run through the interpreter itself.
import type { Expr, Stmt } from "./ast.js";
import { binaryOp, unaryOp } from "../python/operators.js";
import { iterate, keyOf, PyException, toTuple, truthy } from "../python/values.js";
import { htmlEscape, isUndefined, LoopContext, Markup, Undefined } from "./runtime.js";
import { globalNamed, LocatedError, MISSING, NO_KWARGS, selfReference, type Frame, type Renderer } from "./interpreter.js";

export type ExprFn = (r: Renderer, f: Frame) => unknown;
export type StmtFn = (r: Renderer, f: Frame, out: string[]) => void;

const NOTHING: ExprFn = () => undefined;

/**
 * Statements run in order; an error is located at its statement's line (the interpreter's `exec`).
 * Text-only bodies, the usual case for a branch, push their text without a call per piece.
 */
export function compileBody(stmts: Stmt[]): StmtFn {
  const fns = stmts.map(compileStmt);
  const lines = stmts.map((s) => s.line);
  const n = fns.length;
  if (n === 0) return () => {};
  if (n === 1 && stmts[0]!.k === "data") {
    const text = stmts[0]!.text;
    return (_r, _f, out) => void out.push(text);
  }
  return (r, f, out) => {
    let i = 0;
    try {
      for (; i < n; i++) fns[i]!(r, f, out);
    } catch (e) {
      if (e instanceof LocatedError) throw e;
      throw new LocatedError(e, f.template, lines[i]!);
    }
  };
}

/** One statement (not located: compileBody and renderRoot locate its errors). */
export function compileStmt(s: Stmt): StmtFn {
  switch (s.k) {
    case "data": {
      const text = s.text;
      return (_r, _f, out) => void out.push(text);
    }
    case "output": {
      const node = compileExpr(s.node);
      return (r, f, out) => void out.push(r.output(node(r, f)));
    }
    case "if": {
      const test = compileExpr(s.test);
      const body = compileBody(s.body);
      const orElse = compileBody(s.else_);
      return (r, f, out) => (truthy(test(r, f)) ? body : orElse)(r, f, out);
    }
    case "assign": {
      const node = compileExpr(s.node);
      const target = s.target;
      if (target.k === "name") {
        const name = target.name;
        return (r, f) => void f.vars.set(name, node(r, f));
      }
      return (r, f) => r.assign(target, node(r, f), f);
    }
    case "for": {
      if (s.recursive || s.test || s.scope) break;
      const iter = compileExpr(s.iter);
      const target = s.target;
      const body = compileBody(s.body);
      const orElse = compileBody(s.else_);
      return (r, frame, out) => {
        const items = iterate(iter(r, frame));
        const loop = new LoopContext(items, 0, undefined);
        for (let i = 0; i < items.length; i++) {
          loop.index0 = i;
          const f = frame.child();
          r.assign(target, items[i], f);
          f.vars.set("loop", loop);
          body(r, f, out);
        }
        if (!items.length) orElse(r, frame.child(), out);
      };
    }
  }
  return (r, f, out) => r.stmt(s, f, out);
}

/** The positional arguments of a call, filter or test without keyword or star arguments. */
function positional(fns: ExprFn[], r: Renderer, f: Frame): unknown[] {
  const args: unknown[] = [];
  for (let i = 0; i < fns.length; i++) args.push(fns[i]!(r, f));
  return args;
}

type WithArgs = Expr & { args: Expr[]; kwargs: Array<[string, Expr]>; dynArgs?: Expr; dynKwargs?: Expr };

/** The arguments of a call with positional ones only, compiled (its keyword arguments are NO_KWARGS); undefined otherwise (the interpreter evaluates them). */
function compilePositional(e: WithArgs): ExprFn | undefined {
  if (e.kwargs.length > 0 || e.dynArgs || e.dynKwargs) return undefined;
  const fns = e.args.map(compileExpr);
  return (r, f) => positional(fns, r, f);
}

export function compileExpr(e: Expr): ExprFn {
  switch (e.k) {
    case "const": {
      const value = e.value;
      return () => value;
    }
    case "name": {
      const name = e.name;
      const global = globalNamed(name);
      return (_r, f) => {
        const found = f.lookup(name);
        if (found !== MISSING) return found;
        if (name === "self") return selfReference(f);
        return global !== undefined ? global : new Undefined(undefined, undefined, name);
      };
    }
    case "tuple": {
      const items = e.items.map(compileExpr);
      return (r, f) => toTuple(positional(items, r, f));
    }
    case "list": {
      const items = e.items.map(compileExpr);
      return (r, f) => positional(items, r, f);
    }
    case "dict": {
      const items = e.items.map(([k, v]) => [compileExpr(k), compileExpr(v)] as const);
      return (r, f) => {
        const m = new Map<unknown, unknown>();
        for (const [k, v] of items) m.set(keyOf(k(r, f)), v(r, f));
        return m;
      };
    }
    case "getattr": {
      const node = compileExpr(e.node);
      const attr = e.attr;
      return (r, f) => r.getattr(node(r, f), attr);
    }
    case "getitem": {
      if (e.arg.k === "slice") break;
      const node = compileExpr(e.node);
      const arg = compileExpr(e.arg);
      return (r, f) => {
        const obj = node(r, f);
        return r.getitem(obj, arg(r, f));
      };
    }
    // Each of call, filter and test without keyword arguments (the usual case) evaluates its
    // positional ones itself: no {args, kwargs} object per call.
    case "call": {
      const node = compileExpr(e.node);
      const args = compilePositional(e);
      if (args) return (r, f) => {
        const fn = node(r, f);
        return r.call(fn, args(r, f) as unknown[], NO_KWARGS);
      };
      return (r, f) => {
        const fn = node(r, f);
        const a = r.callArgs(e, f);
        return r.call(fn, a.args, a.kwargs);
      };
    }
    case "filter": {
      // The innermost node is null only in filter and set blocks, which the interpreter runs.
      const inner = e.node === null ? NOTHING : compileExpr(e.node);
      const args = compilePositional(e);
      const name = e.name;
      if (args) return (r, f) => {
        const v = inner(r, f);
        return r.callFilter(name, v, args(r, f) as unknown[], NO_KWARGS);
      };
      return (r, f) => {
        const v = inner(r, f);
        const a = r.callArgs(e, f);
        return r.callFilter(name, v, a.args, a.kwargs);
      };
    }
    case "test": {
      const node = compileExpr(e.node);
      const args = compilePositional(e);
      const name = e.name;
      const negate = e.negate;
      if (args) return (r, f) => {
        const v = node(r, f);
        const res = r.callTest(name, v, args(r, f) as unknown[], NO_KWARGS);
        return negate ? !res : res;
      };
      return (r, f) => {
        const v = node(r, f);
        const a = r.callArgs(e, f);
        const res = r.callTest(name, v, a.args, a.kwargs);
        return negate ? !res : res;
      };
    }
    case "binop": {
      const left = compileExpr(e.left);
      const right = compileExpr(e.right);
      const op = e.op;
      const markupRefused = op === "+" || op === "%" || op === "*";
      return (r, f) => {
        const a = left(r, f);
        const b = right(r, f);
        if (isUndefined(a)) a.fail();
        if (isUndefined(b)) b.fail();
        if (markupRefused && (a instanceof Markup || b instanceof Markup)) {
          throw new PyException("NotImplementedError", `'${op}' on Markup (escaped) strings is not supported`);
        }
        return binaryOp(op, a, b);
      };
    }
    case "concat": {
      const nodes = e.nodes.map(compileExpr);
      return (r, f) => {
        const parts = positional(nodes, r, f);
        if (r.autoescape && parts.some((p) => p instanceof Markup)) {
          return new Markup(parts.map((p) => (p instanceof Markup ? p.text : htmlEscape(r.str(p)))).join(""));
        }
        return parts.map((p) => r.str(p)).join("");
      };
    }
    case "compare": {
      const first = compileExpr(e.expr);
      const ops = e.ops.map(([op]) => op);
      const rights = e.ops.map(([, rn]) => compileExpr(rn));
      return (r, f) => {
        let left = first(r, f);
        for (let i = 0; i < ops.length; i++) {
          const right = rights[i]!(r, f);
          if (!r.compareOp(ops[i]!, left, right)) return false;
          left = right;
        }
        return true;
      };
    }
    case "and": {
      const left = compileExpr(e.left);
      const right = compileExpr(e.right);
      return (r, f) => {
        const a = left(r, f);
        return truthy(a) ? right(r, f) : a;
      };
    }
    case "or": {
      const left = compileExpr(e.left);
      const right = compileExpr(e.right);
      return (r, f) => {
        const a = left(r, f);
        return truthy(a) ? a : right(r, f);
      };
    }
    case "not": {
      const node = compileExpr(e.node);
      return (r, f) => !truthy(node(r, f));
    }
    case "unary": {
      const node = compileExpr(e.node);
      const op = e.op;
      return (r, f) => {
        const v = node(r, f);
        if (isUndefined(v)) v.fail();
        return unaryOp(op, v);
      };
    }
    case "cond": {
      const test = compileExpr(e.test);
      const expr1 = compileExpr(e.expr1);
      const expr2 = e.expr2 ? compileExpr(e.expr2) : undefined;
      const line = e.line;
      return (r, f) => {
        if (truthy(test(r, f))) return expr1(r, f);
        return expr2 ? expr2(r, f) : new Undefined(`the inline if-expression on line ${line} evaluated to false and no else section was defined.`);
      };
    }
  }
  return (r, f) => r.eval(e, f);
}
