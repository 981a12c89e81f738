// How host objects (the Bcfg2 data model, or anything else handed to a template) behave as
// Python values, without the evaluators knowing their classes. The conventions are shared by
// every engine in server/templates/:
//   - a str with extra attributes (a probe value) is an object whose valueOf() returns a string;
//   - a set is a JS Set; a dict is a plain object, a Map, or an object with keys()/items()/get();
//   - iteration is Symbol.iterator, len() is a `__len__()` method or a numeric `length` property;
//   - obj[key] calls a `__getitem__(key)` method, `x in obj` a `__contains__(x)` method (templates
//     cannot name dunder attributes, so these stay out of their reach);
//   - str(obj)/repr(obj)/type name come from the PY_STR/PY_REPR/PY_TYPE methods below.

export const PY_STR = Symbol.for("vacfg.python.str");
export const PY_REPR = Symbol.for("vacfg.python.repr");
export const PY_TYPE = Symbol.for("vacfg.python.type");

/** Whether `v` is a class instance (not a plain dict-like object, not an array). */
function isInstance(v: unknown): v is Record<string | symbol, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v);
  return p !== Object.prototype && p !== null;
}

/** The text of a str-like host object, else undefined. */
export function hostStr(v: unknown): string | undefined {
  if (!isInstance(v) || v instanceof Map || v instanceof Set) return undefined;
  if (typeof v.valueOf !== "function") return undefined;
  const s = (v.valueOf as () => unknown)();
  return typeof s === "string" ? s : undefined;
}

export function hostMethod(v: unknown, name: string | symbol): ((...a: unknown[]) => unknown) | undefined {
  if (!isInstance(v)) return undefined;
  const f = v[name];
  return typeof f === "function" ? (f as (...a: unknown[]) => unknown).bind(v) : undefined;
}

/** Items of a host iterable (not arrays, strings or plain objects, which the evaluator handles). */
export function hostIter(v: unknown): unknown[] | undefined {
  if (!isInstance(v) || v instanceof Map || v instanceof Set) return undefined;
  const it = v[Symbol.iterator];
  return typeof it === "function" ? [...(v as unknown as Iterable<unknown>)] : undefined;
}

export function hostLen(v: unknown): number | undefined {
  if (!isInstance(v) || hostStr(v) !== undefined) return undefined;
  const len = hostMethod(v, "__len__");
  if (len) return len() as number;
  return typeof v.length === "number" ? v.length : undefined;
}
