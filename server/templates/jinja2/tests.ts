// Jinja2 3.x's built-in tests (jinja2/tests.py) over the Python value model.
import { bindArgs, REQUIRED, type Kwargs } from "../python/callables.js";
import { binaryOp } from "../python/operators.js";
import {
  compare, contains, isFloat, isInt, isMapping, isNone, isNumber, isStr, isIterable, pyEq, strValue, PyException,
} from "../python/values.js";
import { isUndefined, Markup, PyIterator } from "./runtime.js";

export type Test = (value: unknown, args: unknown[], kwargs: Kwargs, env: { hasFilter(n: string): boolean; hasTest(n: string): boolean }) => boolean;

function one(name: string, args: unknown[], kwargs: Kwargs, param = "other"): unknown {
  return bindArgs(name, [[param, REQUIRED]], args, kwargs)[0];
}
function none(name: string, args: unknown[], kwargs: Kwargs): void {
  bindArgs(name, [], args, kwargs);
}

const eq: Test = (v, a, k) => pyEq(v, one("eq", a, k));
const ne: Test = (v, a, k) => !pyEq(v, one("ne", a, k));
const lt: Test = (v, a, k) => compare(v, one("lt", a, k), "<") < 0;
const le: Test = (v, a, k) => compare(v, one("le", a, k), "<=") <= 0;
const gt: Test = (v, a, k) => compare(v, one("gt", a, k), ">") > 0;
const ge: Test = (v, a, k) => compare(v, one("ge", a, k), ">=") >= 0;

function str(v: unknown): string {
  return strValue(v) ?? "";
}

export const TESTS: Record<string, Test> = {
  odd: (v, a, k) => { none("odd", a, k); return pyEq(binaryOp("%", v, 2), 1); },
  even: (v, a, k) => { none("even", a, k); return pyEq(binaryOp("%", v, 2), 0); },
  divisibleby: (v, a, k) => pyEq(binaryOp("%", v, one("divisibleby", a, k, "num")), 0),
  defined: (v, a, k) => { none("defined", a, k); return !isUndefined(v); },
  undefined: (v, a, k) => { none("undefined", a, k); return isUndefined(v); },
  filter: (v, a, k, env) => { none("filter", a, k); return env.hasFilter(str(v)); },
  test: (v, a, k, env) => { none("test", a, k); return env.hasTest(str(v)); },
  none: (v, a, k) => { none("none", a, k); return isNone(v); },
  boolean: (v, a, k) => { none("boolean", a, k); return v === true || v === false; },
  false: (v, a, k) => { none("false", a, k); return v === false; },
  true: (v, a, k) => { none("true", a, k); return v === true; },
  integer: (v, a, k) => { none("integer", a, k); return isInt(v); },
  float: (v, a, k) => { none("float", a, k); return isFloat(v); },
  lower: (v, a, k) => { none("lower", a, k); const s = strValue(v) ?? String(v); return /\p{Ll}/u.test(s) && !/\p{Lu}|\p{Lt}/u.test(s); },
  upper: (v, a, k) => { none("upper", a, k); const s = strValue(v) ?? String(v); return /\p{Lu}/u.test(s) && !/\p{Ll}|\p{Lt}/u.test(s); },
  string: (v, a, k) => { none("string", a, k); return isStr(v); },
  mapping: (v, a, k) => { none("mapping", a, k); return isMapping(v); },
  number: (v, a, k) => { none("number", a, k); return isNumber(v); },
  sequence: (v, a, k) => { none("sequence", a, k); return isStr(v) || Array.isArray(v) || isMapping(v); },
  // Asking must not consume a generator.
  iterable: (v, a, k) => { none("iterable", a, k); return v instanceof PyIterator || isIterable(v); },
  callable: (v, a, k) => { none("callable", a, k); return typeof v === "function"; },
  sameas: (v, a, k) => {
    const o = one("sameas", a, k);
    if (isNone(v) || isNone(o)) return isNone(v) && isNone(o);
    if (typeof v === "object" || typeof v === "function") return v === o;
    throw new PyException("NotImplementedError", "'sameas' on int, float or str values depends on Python's object identity and is not supported");
  },
  escaped: (v, a, k) => { none("escaped", a, k); return v instanceof Markup; },
  in: (v, a, k) => contains(one("in", a, k, "seq"), v),
  "==": eq, eq, equalto: eq,
  "!=": ne, ne,
  "<": lt, lt, lessthan: lt,
  "<=": le, le,
  ">": gt, gt, greaterthan: gt,
  ">=": ge, ge,
};

