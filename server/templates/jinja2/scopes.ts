// Which names the frame of a for loop or `with` block owns, as Jinja2's compiler decides it
// (jinja2/idtracking.py), for those whose body defines a macro: only a macro (a closure) can see
// their variables from another iteration or after they end, where Jinja2's compiled code shows:
// - a loop's variables are one set of Python locals for all its iterations, so a macro made in
//   the first iteration sees the second iteration's values when called then;
// - when the scope ends they are all set to `missing` (`leave_frame`): a macro that reads its
//   targets (or `loop`) prints "missing" (they are parameters, read raw), and one that reads any
//   other name the scope owns gets Undefined.
// - the locals are named by the frame's depth in its compiled function (the template's body, a
//   macro's, a block's), so sibling scopes at one depth share them: a macro made in one loop sees
//   what a later loop assigns to a name both own (and `missing` again when that one ends).
// A scope owns its targets, a loop also `loop`, every name assigned at its level (not in a
// nested scope), and every name read at its level that no enclosing level declares (Jinja2
// resolves those from the context into the scope's own local). In a template where some scope's
// body defines a macro, every loop and `with` block gets its owned names and depth.
import { PyFloat } from "../python/values.js";
import type { OwnedNames, Stmt, Target } from "./ast.js";

/** Every name a node reads or assigns, nested nodes included (`into`, or a new set). */
export function namesIn(node: unknown, into = new Set<string>()): Set<string> {
  const seen = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(seen);
    else if (v && typeof v === "object" && !(v instanceof PyFloat)) {
      const o = v as Record<string, unknown>;
      if (o.k === "name" && typeof o.name === "string") into.add(o.name);
      for (const x of Object.values(o)) seen(x);
    }
  };
  seen(node);
  return into;
}

function targetNames(t: Target, stores: Set<string>, loads: Set<string>): void {
  if (t.k === "name") stores.add(t.name);
  else if (t.k === "nsref") loads.add(t.name);
  else for (const x of t.items) targetNames(x, stores, loads);
}

interface Level {
  stores: Set<string>;
  loads: Set<string>;
  /** Statements that open a scope of their own, analysed once this level is complete. */
  nested: Stmt[];
}

/** One level's names, without descending into the scopes nested in it. */
function levelOf(stmts: Stmt[], level: Level = { stores: new Set(), loads: new Set(), nested: [] }): Level {
  const { stores, loads, nested } = level;
  for (const s of stmts) {
    switch (s.k) {
      case "data": break;
      case "output": namesIn(s.node, loads); break;
      case "if": namesIn(s.test, loads); levelOf(s.body, level); levelOf(s.else_, level); break;
      case "autoescape": namesIn(s.value, loads); levelOf(s.body, level); break;
      case "assign": namesIn(s.node, loads); targetNames(s.target, stores, loads); break;
      case "for": namesIn(s.iter, loads); levelOf(s.else_, level); nested.push(s); break;
      case "macro": stores.add(s.name); nested.push(s); break;
      case "callblock": namesIn(s.call, loads); nested.push(s); break;
      case "filterblock": namesIn(s.filter, loads); nested.push(s); break;
      case "with": for (const v of s.values) namesIn(v, loads); nested.push(s); break;
      case "assignblock": namesIn(s.filter, loads); targetNames(s.target, stores, loads); nested.push(s); break;
      case "block": nested.push(s); break;
      case "extends": case "include": namesIn(s.template, loads); break;
      case "import": namesIn(s.template, loads); stores.add(s.target); break;
      case "fromimport": namesIn(s.template, loads); for (const [, alias] of s.names) stores.add(alias); break;
    }
  }
  return level;
}

/** Whether a statement in `stmts`, at any depth, is one `is` picks. */
function contains(stmts: Stmt[], is: (node: { k?: unknown; scoped?: unknown; body?: unknown }) => boolean): boolean {
  const seen = (v: unknown): boolean => {
    if (Array.isArray(v)) return v.some(seen);
    if (!v || typeof v !== "object") return false;
    if (is(v as { k?: unknown })) return true;
    return Object.values(v).some((x) => x && typeof x === "object" && seen(x));
  };
  return seen(stmts);
}
const definesMacro = (stmts: Stmt[]) => contains(stmts, (n) => n.k === "macro");
const hasScopedBlock = (stmts: Stmt[]) => contains(stmts, (n) => n.k === "block" && n.scoped === true);

function owned(params: Set<string>, level: Level, enclosing: Set<string>[], depth: number): OwnedNames {
  const others = new Set(level.stores);
  for (const n of level.loads) if (!enclosing.some((l) => l.has(n))) others.add(n);
  for (const p of params) others.delete(p);
  return { params: [...params], others: [...others], level: depth };
}

/**
 * Analyses the nested scopes of a level whose enclosing levels declare `outer`, at `depth` in its
 * compiled function (a frame Jinja2 makes with frame.inner() is one deeper; a macro, call block or
 * block is a function of its own).
 */
function visitNested(level: Level, outer: Set<string>[], depth: number): void {
  const enclosing = [...outer, new Set([...level.stores, ...level.loads])];
  for (const s of level.nested) {
    switch (s.k) {
      case "for": {
        // Jinja2 makes `loop` (an "extended loop") only where the body reads it, or the loop is
        // recursive, or holds a scoped block; only then is it one of the frame's locals
        const extended = s.recursive || namesIn(s.body).has("loop") || hasScopedBlock(s.body);
        const params = new Set<string>(extended ? ["loop"] : []);
        targetNames(s.target, params, new Set());
        const inner = levelOf(s.body);
        namesIn(s.test, inner.loads);
        s.scope = owned(params, inner, enclosing, depth + 1);
        visitNested(inner, [...enclosing, params], depth + 1);
        break;
      }
      case "macro": case "callblock": {
        const inner = levelOf(s.body);
        visitNested(inner, [...enclosing, new Set([...s.params, "varargs", "kwargs", "caller"])], 0);
        break;
      }
      case "with": {
        const params = new Set<string>();
        for (const t of s.targets) targetNames(t, params, new Set());
        const inner = levelOf(s.body);
        s.scope = owned(params, inner, enclosing, depth + 1);
        visitNested(inner, [...enclosing, params], depth + 1);
        break;
      }
      case "filterblock": case "assignblock": visitNested(levelOf(s.body), enclosing, depth + 1); break;
      case "block": visitNested(levelOf(s.body), s.scoped ? enclosing : [], 0); break;
    }
  }
}

/** Sets `scope` on every loop and `with` block of a template where one of them defines a macro. */
export function markScopes(body: Stmt[]): void {
  if (contains(body, (n) => (n.k === "for" || n.k === "with") && definesMacro(n.body as Stmt[]))) visitNested(levelOf(body), [], 0);
}
