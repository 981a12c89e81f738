// Python's value model over JavaScript values, shared by the template engines: which JS value
// stands for which Python type, truthiness, str()/repr(), equality and ordering.
//   None = null/undefined, bool = boolean, int = integral number, float = PyFloat or a
//   non-integral number, str = string (or an object whose valueOf() is a string: a str
//   subclass with extra attributes), list = Array, tuple = PyTuple, dict = Map, a plain
//   object or a Mapping (an object with keys/items/get methods), set = Set.
// Objects may say how they print with the PY_STR / PY_REPR symbols, and host objects follow the
// conventions of host-objects.ts (shared with the Genshi engine).
import { hostIter, hostLen, hostMethod, PY_REPR, PY_STR, PY_TYPE } from "./host-objects.js";

/**
 * A Python exception: thrown by the runtime (TypeError, KeyError, ...), and the value a template's
 * `ValueError("msg")` or `TemplateError("msg")` evaluates to, which `raise` throws as it is.
 */
export class PyException extends Error {
  constructor(
    readonly pyType: string,
    readonly detail: string,
  ) {
    super(`${pyType}: ${detail}`);
  }
}

export { PY_REPR, PY_STR, PY_TYPE } from "./host-objects.js";

/** A Python float: a boxed number, so 4/2 prints "2.0" and 1e-07 prints as Python does. */
export class PyFloat {
  constructor(readonly v: number) {}
  [PY_TYPE](): string {
    return "float";
  }
  valueOf(): number {
    return this.v;
  }
  toString(): string {
    return floatRepr(this.v);
  }
}

/** repr(float): the shortest round-trip digits (as JS), Python's exponent rules (1e+16, 1e-05) and a ".0" on integers. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, expStr] = x.toExponential().split("e");
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) {
    return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const digits = mant!.replace("-", "").replace(".", "");
  const sign = x < 0 ? "-" : "";
  let s: string;
  if (exp >= 0) {
    s = digits.length > exp + 1 ? `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}` : `${digits.padEnd(exp + 1, "0")}.0`;
  } else s = `0.${"0".repeat(-exp - 1)}${digits}`;
  return sign + s;
}

/** A Python tuple (an Array, so every list operation reads it). */
export class PyTuple<T = unknown> extends Array<T> {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

export function tuple<T>(...items: T[]): PyTuple<T> {
  const t = new PyTuple<T>();
  t.push(...items);
  return t;
}
export function toTuple<T>(items: Iterable<T>): PyTuple<T> {
  return tuple(...items);
}

export function isNone(v: unknown): v is null | undefined {
  return v === null || v === undefined;
}
export function isFloat(v: unknown): boolean {
  return v instanceof PyFloat || (typeof v === "number" && !Number.isInteger(v));
}
export function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}
/** int, float or bool (Python's bool is an int). */
export function isNumber(v: unknown): boolean {
  return typeof v === "number" || v instanceof PyFloat || typeof v === "boolean";
}
export function num(v: unknown): number {
  if (v instanceof PyFloat) return v.v;
  if (typeof v === "boolean") return v ? 1 : 0;
  return v as number;
}
export function float(n: number): PyFloat {
  return new PyFloat(n);
}

/** The text of a str (or of a str subclass object), or undefined when `v` is not a str. */
export function strValue(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Set) && !(v instanceof PyFloat)) {
    const p = Object.getPrototypeOf(v);
    if (p !== Object.prototype && p !== null && typeof (v as { valueOf?: unknown }).valueOf === "function") {
      const s = (v as { valueOf(): unknown }).valueOf();
      if (typeof s === "string") return s;
    }
  }
  return undefined;
}
export function isStr(v: unknown): boolean {
  return strValue(v) !== undefined;
}
/** The primitive a value stands for (a float's number, a str-like host object's text), else the value. */
export function primitive(v: unknown): unknown {
  if (v instanceof PyFloat) return v.v;
  return strValue(v) ?? v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

interface MappingLike {
  keys(): unknown;
  items(): unknown;
  get(k: unknown, d?: unknown): unknown;
}
function isMappingLike(v: unknown): v is MappingLike {
  if (typeof v !== "object" || v === null || isStr(v)) return false;
  const o = v as Record<string, unknown>;
  return typeof o.keys === "function" && typeof o.items === "function" && typeof o.get === "function";
}

export function isMapping(v: unknown): boolean {
  return v instanceof Map || isPlainObject(v) || isMappingLike(v);
}
export function isList(v: unknown): v is unknown[] {
  return Array.isArray(v) && !(v instanceof PyTuple);
}
export function isTuple(v: unknown): v is PyTuple {
  return v instanceof PyTuple;
}

/** (key, value) pairs of a mapping, in insertion order. */
export function mappingEntries(v: unknown): Array<[unknown, unknown]> {
  if (v instanceof Map) return [...v.entries()];
  if (isPlainObject(v)) return Object.entries(v);
  if (isMappingLike(v)) return iterate(v.items()).map((p) => { const [a, b] = iterate(p); return [a, b]; });
  throw new PyException("TypeError", `'${typeName(v)}' object is not a mapping`);
}

/** Normalizes a dict key the way Python hashes it (1 == 1.0 == True). */
export function keyOf(k: unknown): unknown {
  const s = strValue(k);
  if (s !== undefined) return s;
  if (k instanceof PyFloat) return k.v;
  if (typeof k === "boolean") return k ? 1 : 0;
  if (k === undefined) return null;
  return k;
}

export function mappingHas(v: unknown, k: unknown): boolean {
  if (v instanceof Map) return v.has(keyOf(k));
  if (isPlainObject(v)) return Object.prototype.hasOwnProperty.call(v, pyStr(k));
  if (isMappingLike(v)) return iterate(v.keys()).some((x) => pyEq(x, k));
  return false;
}
export function mappingGet(v: unknown, k: unknown): unknown {
  if (v instanceof Map) return v.get(keyOf(k));
  if (isPlainObject(v)) return v[pyStr(k)];
  if (isMappingLike(v)) return mappingEntries(v).find(([x]) => pyEq(x, k))?.[1];
  return undefined;
}

export function typeName(v: unknown): string {
  if (isNone(v)) return "NoneType";
  if (typeof v === "boolean") return "bool";
  if (isInt(v)) return "int";
  if (isFloat(v)) return "float";
  if (typeof v === "string") return "str";
  if (v instanceof PyTuple) return "tuple";
  if (Array.isArray(v)) return "list";
  if (v instanceof Set) return "set";
  if (typeof v === "function") return "function";
  if (typeof v === "object") {
    const t = (v as { [PY_TYPE]?: string | (() => string) })[PY_TYPE];
    if (typeof t === "function") return t.call(v);
    if (typeof t === "string") return t;
    if (isMapping(v)) return "dict";
    if (isStr(v)) return "str";
    return (v as object).constructor?.name ?? "object";
  }
  return typeof v;
}

/** Python's iter(): lists, tuples, str (characters), dict keys, sets, JS iterables. */
export function iterate(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  const s = strValue(v);
  if (s !== undefined) return [...s];
  if (v instanceof Set) return [...v];
  // A host object's own iteration first (an XML element iterates its children, not its attributes).
  const own = hostIter(v);
  if (own) return own;
  if (isMapping(v)) return mappingEntries(v).map(([k]) => k);
  if (typeof v === "object" && v !== null && typeof (v as Iterable<unknown>)[Symbol.iterator] === "function") return [...(v as Iterable<unknown>)];
  throw new PyException("TypeError", `'${typeName(v)}' object is not iterable`);
}
export function isIterable(v: unknown): boolean {
  try {
    iterate(v);
    return true;
  } catch {
    return false;
  }
}

export function len(v: unknown): number {
  const s = strValue(v);
  if (s !== undefined) return [...s].length;
  if (Array.isArray(v)) return v.length;
  if (v instanceof Set || v instanceof Map) return v.size;
  const own = hostLen(v);
  if (own !== undefined) return own;
  if (isMapping(v)) return mappingEntries(v).length;
  if (typeof v === "object" && v !== null && typeof (v as { length?: unknown }).length === "number") return (v as { length: number }).length;
  throw new PyException("TypeError", `object of type '${typeName(v)}' has no len()`);
}

export function truthy(v: unknown): boolean {
  if (isNone(v) || v === false || v === 0 || v === "") return false;
  if (v instanceof PyFloat) return v.v !== 0;
  if (typeof v === "object") {
    const t = (v as { [PY_TRUTH]?: () => boolean })[PY_TRUTH];
    if (typeof t === "function") return t.call(v);
    const s = strValue(v);
    if (s !== undefined) return s !== "";
    if (Array.isArray(v) || v instanceof Set || v instanceof Map || isMapping(v) || hostLen(v) !== undefined) return len(v) > 0;
  }
  return true;
}
/** Objects with their own truth (Jinja's Undefined) implement this. */
export const PY_TRUTH = Symbol.for("vacfg.python.bool");

// ---------------------------------------------------------------- printing

export function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return quote + out + quote;
}

export function pyRepr(v: unknown): string {
  if (isNone(v)) return "None";
  if (typeof v === "object" || typeof v === "function") {
    const r = (v as { [PY_REPR]?: () => string })[PY_REPR];
    if (typeof r === "function") return r.call(v);
  }
  const s = strValue(v);
  if (s !== undefined) return strRepr(s);
  if (v instanceof PyFloat) return floatRepr(v.v);
  if (v instanceof PyTuple) return v.length === 1 ? `(${pyRepr(v[0])},)` : `(${v.map(pyRepr).join(", ")})`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (v instanceof Set) return v.size ? `{${[...v].map(pyRepr).join(", ")}}` : "set()";
  if (isMapping(v)) return `{${mappingEntries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
  if (typeof v === "object" || typeof v === "function") {
    // Python prints other objects with their memory address: no output could match it.
    throw new PyException("NotImplementedError", `printing a ${typeName(v)} object (Python shows its memory address) is not supported`);
  }
  return pyStr(v);
}

export function pyStr(v: unknown): string {
  if (isNone(v)) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return v;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) return floatRepr(v);
    if (!Number.isSafeInteger(v)) throw new PyException("NotImplementedError", "integers beyond 2**53 are not supported");
    return Object.is(v, -0) ? "0" : String(v);
  }
  if (v instanceof PyFloat) return floatRepr(v.v);
  if (typeof v === "object") {
    const f = (v as { [PY_STR]?: () => string })[PY_STR];
    if (typeof f === "function") return f.call(v);
    const s = strValue(v);
    if (s !== undefined) return s;
  }
  return pyRepr(v);
}

// ---------------------------------------------------------------- comparison

export function pyEq(a: unknown, b: unknown): boolean {
  if (isNone(a) || isNone(b)) return isNone(a) && isNone(b);
  if (isNumber(a) && isNumber(b)) return num(a) === num(b);
  const sa = strValue(a);
  const sb = strValue(b);
  if (sa !== undefined || sb !== undefined) return sa === sb;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a instanceof PyTuple === b instanceof PyTuple && a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
  }
  if (a instanceof Set && b instanceof Set) return a.size === b.size && [...a].every((x) => setHas(b, x));
  if (typeof a === "object" && typeof b === "object" && isMapping(a) && isMapping(b) && !(a as object as Set<unknown> instanceof Set)) {
    const ea = mappingEntries(a);
    const eb = mappingEntries(b);
    return ea.length === eb.length && ea.every(([k, x]) => mappingHas(b, k) && pyEq(x, mappingGet(b, k)));
  }
  const eq = (a as { [PY_EQ]?: (o: unknown) => boolean } | null)?.[PY_EQ];
  if (typeof eq === "function") return eq.call(a, b);
  return a === b;
}
/** Objects with their own equality (Jinja's Undefined) implement this. */
export const PY_EQ = Symbol.for("vacfg.python.eq");

export function setHas(s: Set<unknown>, x: unknown): boolean {
  if (s.has(x)) return true;
  for (const y of s) if (pyEq(y, x)) return true;
  return false;
}

/** Python's `<` ordering: numbers, str, sequences element-wise; anything else is a TypeError. */
export function compare(a: unknown, b: unknown, op = "<"): number {
  if (isNumber(a) && isNumber(b)) return num(a) < num(b) ? -1 : num(a) > num(b) ? 1 : 0;
  const sa = strValue(a);
  const sb = strValue(b);
  if (sa !== undefined && sb !== undefined) return codepointCompare(sa, sb);
  if (Array.isArray(a) && Array.isArray(b) && a instanceof PyTuple === b instanceof PyTuple) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (pyEq(a[i], b[i])) continue;
      return compare(a[i], b[i], op);
    }
    return a.length - b.length;
  }
  throw new PyException("TypeError", `'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

function codepointCompare(a: string, b: string): number {
  if (a === b) return 0;
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Python's sorted(): stable, by `key`, TypeError on mixed types. */
export function pySorted<T>(items: T[], key: (x: T) => unknown = (x) => x, reverse = false): T[] {
  const keyed = items.map((x, i) => ({ x, k: key(x), i }));
  keyed.sort((p, q) => {
    const c = reverse ? compare(q.k, p.k) : compare(p.k, q.k);
    return c !== 0 ? c : p.i - q.i;
  });
  return keyed.map((p) => p.x);
}

/** `x in container` */
export function contains(container: unknown, x: unknown): boolean {
  const has = hostMethod(container, "__contains__");
  if (has) return truthy(has(x));
  const s = strValue(container);
  if (s !== undefined) {
    const xs = strValue(x);
    if (xs === undefined) throw new PyException("TypeError", `'in <string>' requires string as left operand, not ${typeName(x)}`);
    return s.includes(xs);
  }
  if (container instanceof Set) return setHas(container, x);
  if (isMapping(container)) return mappingHas(container, x);
  if (Array.isArray(container)) return container.some((y) => pyEq(y, x));
  return iterate(container).some((y) => pyEq(y, x));
}
