// Python's methods on str, list, dict and set, with Python's results and errors. A method
// Python has but this runtime does not implement is refused by name, never approximated.
import { bindArgs, callValue, pyFunction, REQUIRED, type Kwargs, type PyFunction } from "./callables.js";
import { strFormat } from "./format.js";
import {
  contains, isMapping, isNone, iterate, keyOf, mappingEntries, mappingGet, mappingHas, num, pyEq, pyRepr, pySorted,
  PyException, PyTuple, PY_REPR, PY_TYPE, strValue, tuple, typeName,
} from "./values.js";

/** Attribute and item lookup of the engine (str.format's `{0.name}` / `{0[key]}`). */
export interface Lookup {
  attr(o: unknown, name: string): unknown;
  item(o: unknown, key: unknown): unknown;
}

/** Python's whitespace (str.split() / strip()). */
const WS = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
const LINE_BREAKS = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/;

function isWs(c: string): boolean {
  return WS.includes(c);
}

export function pyStrip(s: string, chars: unknown, left: boolean, right: boolean): string {
  const set = isNone(chars) ? WS : str(chars, "strip arg");
  const cs = [...s];
  let a = 0;
  let b = cs.length;
  if (left) while (a < b && set.includes(cs[a]!)) a++;
  if (right) while (b > a && set.includes(cs[b - 1]!)) b--;
  return cs.slice(a, b).join("");
}

function str(v: unknown, what = "argument"): string {
  const s = strValue(v);
  if (s === undefined) throw new PyException("TypeError", `${what} must be str, not ${typeName(v)}`);
  return s;
}

export function pySplit(s: string, sep: unknown, maxsplit: number): string[] {
  if (isNone(sep)) {
    const out: string[] = [];
    let i = 0;
    const cs = [...s];
    while (i < cs.length) {
      while (i < cs.length && isWs(cs[i]!)) i++;
      if (i >= cs.length) break;
      if (maxsplit >= 0 && out.length === maxsplit) {
        let end = cs.length;
        while (end > i && isWs(cs[end - 1]!)) end--;
        out.push(cs.slice(i, end).join(""));
        return out;
      }
      let j = i;
      while (j < cs.length && !isWs(cs[j]!)) j++;
      out.push(cs.slice(i, j).join(""));
      i = j;
    }
    return out;
  }
  const d = str(sep);
  if (d === "") throw new PyException("ValueError", "empty separator");
  const parts = s.split(d);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(d)];
}

function pyRsplit(s: string, sep: unknown, maxsplit: number): string[] {
  if (maxsplit < 0) return pySplit(s, sep, -1);
  if (isNone(sep)) {
    const rev = pySplit([...s].reverse().join(""), null, maxsplit);
    return rev.map((p) => [...p].reverse().join("")).reverse();
  }
  const d = str(sep);
  if (d === "") throw new PyException("ValueError", "empty separator");
  const parts = s.split(d);
  if (parts.length <= maxsplit + 1) return parts;
  return [parts.slice(0, parts.length - maxsplit).join(d), ...parts.slice(parts.length - maxsplit)];
}

export function pySplitlines(s: string, keepends = false): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length) {
    const m = LINE_BREAKS.exec(rest);
    if (!m) {
      out.push(rest);
      break;
    }
    out.push(rest.slice(0, keepends ? m.index + m[0].length : m.index));
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

/** Python's str.title(): a cased letter after an uncased character starts a word. */
function pyTitle(s: string): string {
  let prevCased = false;
  let out = "";
  for (const ch of s) {
    const cased = ch.toLowerCase() !== ch.toUpperCase();
    out += cased ? (prevCased ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    prevCased = cased;
  }
  return out;
}

export function pyCapitalize(s: string): string {
  const cs = [...s];
  return cs.length ? cs[0]!.toUpperCase() + cs.slice(1).join("").toLowerCase() : s;
}

export function pyCenter(s: string, width: number, fill = " "): string {
  const n = [...s].length;
  const marg = width - n;
  if (marg <= 0) return s;
  const left = Math.floor(marg / 2) + (marg & width & 1);
  return fill.repeat(left) + s + fill.repeat(marg - left);
}

export function pyReplace(s: string, old: string, rep: string, count = -1): string {
  if (count < 0) {
    if (old === "") return rep + [...s].join(rep) + (s ? rep : "");
    return s.split(old).join(rep);
  }
  let out = "";
  let rest = s;
  let n = 0;
  if (old === "") {
    const cs = [...s];
    for (let i = 0; i <= cs.length; i++) {
      if (n < count) { out += rep; n++; }
      if (i < cs.length) out += cs[i];
    }
    return out;
  }
  while (n < count) {
    const i = rest.indexOf(old);
    if (i < 0) break;
    out += rest.slice(0, i) + rep;
    rest = rest.slice(i + old.length);
    n++;
  }
  return out + rest;
}

function sliceBounds(len: number, start: unknown, end: unknown): [number, number] {
  const norm = (v: unknown, d: number) => {
    if (isNone(v)) return d;
    let i = num(v);
    if (i < 0) i = Math.max(0, len + i);
    return Math.min(i, len);
  };
  return [norm(start, 0), norm(end, len)];
}

function affixes(v: unknown, method: string): string[] {
  if (v instanceof PyTuple) return v.map((x) => str(x, `tuple for ${method}`));
  const s = strValue(v);
  if (s === undefined) throw new PyException("TypeError", `${method} first arg must be str or a tuple of str, not ${typeName(v)}`);
  return [s];
}

type Impl = (args: unknown[], kw: Kwargs) => unknown;
type Table<T> = Record<string, (self: T, lookup: Lookup) => Impl>;

const p = (fname: string, params: Array<[string, unknown?]>, args: unknown[], kw: Kwargs) => bindArgs(fname, params, args, kw);

const STR: Table<string> = {
  capitalize: (s) => () => pyCapitalize(s),
  casefold: (s) => () => s.toLowerCase(),
  center: (s) => (a, k) => { const [w, f] = p("center", [["width", REQUIRED], ["fillchar", " "]], a, k); return pyCenter(s, num(w), str(f)); },
  ljust: (s) => (a, k) => { const [w, f] = p("ljust", [["width", REQUIRED], ["fillchar", " "]], a, k); return s + str(f).repeat(Math.max(0, num(w) - [...s].length)); },
  rjust: (s) => (a, k) => { const [w, f] = p("rjust", [["width", REQUIRED], ["fillchar", " "]], a, k); return str(f).repeat(Math.max(0, num(w) - [...s].length)) + s; },
  count: (s) => (a, k) => {
    const [sub, st, en] = p("count", [["sub", REQUIRED], ["start", null], ["end", null]], a, k);
    const [x, y] = sliceBounds(s.length, st, en);
    const t = s.slice(x, y);
    const d = str(sub);
    return d === "" ? [...t].length + 1 : t.split(d).length - 1;
  },
  endswith: (s) => (a, k) => {
    const [suf, st, en] = p("endswith", [["suffix", REQUIRED], ["start", null], ["end", null]], a, k);
    const [x, y] = sliceBounds(s.length, st, en);
    return affixes(suf, "endswith").some((f) => s.slice(x, y).endsWith(f));
  },
  startswith: (s) => (a, k) => {
    const [pre, st, en] = p("startswith", [["prefix", REQUIRED], ["start", null], ["end", null]], a, k);
    const [x, y] = sliceBounds(s.length, st, en);
    return affixes(pre, "startswith").some((f) => s.slice(x, y).startsWith(f));
  },
  find: (s) => (a, k) => findIn(s, "find", a, k, false, false),
  rfind: (s) => (a, k) => findIn(s, "rfind", a, k, true, false),
  index: (s) => (a, k) => findIn(s, "index", a, k, false, true),
  rindex: (s) => (a, k) => findIn(s, "rindex", a, k, true, true),
  format: (s, lookup) => (a, k) => strFormat(s, a, k, lookup),
  isalnum: (s) => () => s !== "" && /^[\p{L}\p{N}]+$/u.test(s),
  isalpha: (s) => () => s !== "" && /^\p{L}+$/u.test(s),
  isascii: (s) => () => /^[\x00-\x7f]*$/.test(s),
  isdecimal: (s) => () => s !== "" && /^\p{Nd}+$/u.test(s),
  isdigit: (s) => () => s !== "" && /^\p{Nd}+$/u.test(s),
  isnumeric: (s) => () => s !== "" && /^\p{N}+$/u.test(s),
  islower: (s) => () => /\p{Ll}/u.test(s) && !/\p{Lu}|\p{Lt}/u.test(s),
  isupper: (s) => () => /\p{Lu}/u.test(s) && !/\p{Ll}|\p{Lt}/u.test(s),
  isspace: (s) => () => s !== "" && [...s].every(isWs),
  istitle: (s) => () => /\p{Lu}|\p{Lt}/u.test(s) && pyTitle(s) === s,
  join: (s) => (a, k) => {
    const [items] = p("join", [["iterable", REQUIRED]], a, k);
    return iterate(items).map((x, i) => {
      const v = strValue(x);
      if (v === undefined) throw new PyException("TypeError", `sequence item ${i}: expected str instance, ${typeName(x)} found`);
      return v;
    }).join(s);
  },
  lower: (s) => () => s.toLowerCase(),
  upper: (s) => () => s.toUpperCase(),
  swapcase: (s) => () => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(""),
  title: (s) => () => pyTitle(s),
  strip: (s) => (a, k) => pyStrip(s, p("strip", [["chars", null]], a, k)[0], true, true),
  lstrip: (s) => (a, k) => pyStrip(s, p("lstrip", [["chars", null]], a, k)[0], true, false),
  rstrip: (s) => (a, k) => pyStrip(s, p("rstrip", [["chars", null]], a, k)[0], false, true),
  split: (s) => (a, k) => { const [sep, m] = p("split", [["sep", null], ["maxsplit", -1]], a, k); return pySplit(s, sep, num(m)); },
  rsplit: (s) => (a, k) => { const [sep, m] = p("rsplit", [["sep", null], ["maxsplit", -1]], a, k); return pyRsplit(s, sep, num(m)); },
  splitlines: (s) => (a, k) => pySplitlines(s, !!p("splitlines", [["keepends", false]], a, k)[0]),
  partition: (s) => (a, k) => {
    const d = str(p("partition", [["sep", REQUIRED]], a, k)[0]);
    const i = s.indexOf(d);
    return i < 0 ? tuple(s, "", "") : tuple(s.slice(0, i), d, s.slice(i + d.length));
  },
  rpartition: (s) => (a, k) => {
    const d = str(p("rpartition", [["sep", REQUIRED]], a, k)[0]);
    const i = s.lastIndexOf(d);
    return i < 0 ? tuple("", "", s) : tuple(s.slice(0, i), d, s.slice(i + d.length));
  },
  removeprefix: (s) => (a, k) => { const x = str(p("removeprefix", [["prefix", REQUIRED]], a, k)[0]); return x && s.startsWith(x) ? s.slice(x.length) : s; },
  removesuffix: (s) => (a, k) => { const x = str(p("removesuffix", [["suffix", REQUIRED]], a, k)[0]); return x && s.endsWith(x) ? s.slice(0, -x.length) : s; },
  replace: (s) => (a, k) => { const [o, n, c] = p("replace", [["old", REQUIRED], ["new", REQUIRED], ["count", -1]], a, k); return pyReplace(s, str(o), str(n), num(c)); },
  zfill: (s) => (a, k) => {
    const w = num(p("zfill", [["width", REQUIRED]], a, k)[0]);
    const sign = /^[+-]/.test(s) ? s[0]! : "";
    const body = s.slice(sign.length);
    return sign + body.padStart(Math.max(0, w - sign.length), "0");
  },
  expandtabs: (s) => (a, k) => {
    const size = num(p("expandtabs", [["tabsize", 8]], a, k)[0]);
    let col = 0;
    let out = "";
    for (const c of s) {
      if (c === "\t") { const n = size > 0 ? size - (col % size) : 0; out += " ".repeat(n); col += n; }
      else { out += c; col = c === "\n" || c === "\r" ? 0 : col + 1; }
    }
    return out;
  },
};

function findIn(s: string, name: string, a: unknown[], k: Kwargs, fromRight: boolean, raise: boolean): number {
  const [sub, st, en] = p(name, [["sub", REQUIRED], ["start", null], ["end", null]], a, k);
  const [x, y] = sliceBounds(s.length, st, en);
  const t = s.slice(x, y);
  const d = str(sub);
  const i = fromRight ? t.lastIndexOf(d) : t.indexOf(d);
  if (i < 0 && raise) throw new PyException("ValueError", "substring not found");
  return i < 0 ? -1 : i + x;
}

/** A dict view (dict_keys, dict_values, dict_items): iterable, with Python's repr. */
export class DictView extends Array<unknown> {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
  static make(kind: string, items: unknown[]): DictView {
    const v = new DictView();
    v.push(...items);
    Object.defineProperty(v, PY_TYPE, { value: () => kind });
    Object.defineProperty(v, PY_REPR, { value: () => `${kind}([${items.map(pyRepr).join(", ")}])` });
    return v;
  }
}

function seqIndex(l: unknown[], x: unknown): number {
  const i = l.findIndex((y) => pyEq(y, x));
  if (i < 0) throw new PyException("ValueError", `${pyRepr(x)} is not in list`);
  return i;
}

const LIST: Table<unknown[]> = {
  append: (l) => (a, k) => { l.push(p("append", [["object", REQUIRED]], a, k)[0]); return null; },
  extend: (l) => (a, k) => { l.push(...iterate(p("extend", [["iterable", REQUIRED]], a, k)[0])); return null; },
  insert: (l) => (a, k) => {
    const [i, x] = p("insert", [["index", REQUIRED], ["object", REQUIRED]], a, k);
    let n = num(i);
    if (n < 0) n = Math.max(0, l.length + n);
    l.splice(Math.min(n, l.length), 0, x);
    return null;
  },
  pop: (l) => (a, k) => {
    if (!l.length) throw new PyException("IndexError", "pop from empty list");
    let n = num(p("pop", [["index", -1]], a, k)[0]);
    if (n < 0) n += l.length;
    if (n < 0 || n >= l.length) throw new PyException("IndexError", "pop index out of range");
    return l.splice(n, 1)[0];
  },
  remove: (l) => (a, k) => { l.splice(seqIndex(l, p("remove", [["value", REQUIRED]], a, k)[0]), 1); return null; },
  index: (l) => (a, k) => seqIndex(l, p("index", [["value", REQUIRED]], a, k)[0]),
  count: (l) => (a, k) => { const [x] = p("count", [["value", REQUIRED]], a, k); return l.filter((y) => pyEq(y, x)).length; },
  reverse: (l) => () => { l.reverse(); return null; },
  sort: (l) => (a, k) => {
    if (a.length) throw new PyException("TypeError", "sort() takes no positional arguments");
    const [key, rev] = p("sort", [["key", null], ["reverse", false]], [], k);
    const sorted = pySorted(l, isNone(key) ? undefined : (x) => callValue(key, [x]), !!rev);
    l.splice(0, l.length, ...sorted);
    return null;
  },
  copy: (l) => () => [...l],
  clear: (l) => () => { l.length = 0; return null; },
};

const TUPLE: Table<unknown[]> = { index: LIST.index!, count: LIST.count! };

function dictSet(d: unknown, k: unknown, v: unknown): void {
  if (d instanceof Map) d.set(keyOf(k), v);
  else (d as Record<string, unknown>)[strValue(k) ?? String(keyOf(k))] = v;
}
function dictDelete(d: unknown, k: unknown): void {
  if (d instanceof Map) d.delete(keyOf(k));
  else delete (d as Record<string, unknown>)[strValue(k) ?? String(keyOf(k))];
}

const DICT: Table<unknown> = {
  get: (d) => (a, k) => { const [key, dflt] = p("get", [["key", REQUIRED], ["default", null]], a, k); return mappingHas(d, key) ? mappingGet(d, key) : dflt; },
  keys: (d) => () => DictView.make("dict_keys", mappingEntries(d).map(([x]) => x)),
  values: (d) => () => DictView.make("dict_values", mappingEntries(d).map(([, x]) => x)),
  items: (d) => () => DictView.make("dict_items", mappingEntries(d).map(([x, y]) => tuple(x, y))),
  copy: (d) => () => new Map(mappingEntries(d).map(([x, y]) => [keyOf(x), y])),
  setdefault: (d) => (a, k) => {
    const [key, dflt] = p("setdefault", [["key", REQUIRED], ["default", null]], a, k);
    if (!mappingHas(d, key)) dictSet(d, key, dflt);
    return mappingGet(d, key);
  },
  update: (d) => (a, k) => {
    for (const src of a) for (const [x, y] of isMapping(src) ? mappingEntries(src) : iterate(src).map((e) => iterate(e))) dictSet(d, x, y);
    for (const [x, y] of k) dictSet(d, x, y);
    return null;
  },
  pop: (d) => (a, k) => {
    const [key, dflt] = p("pop", [["key", REQUIRED], ["default", null]], a, k);
    if (!mappingHas(d, key)) {
      if (a.length < 2 && !k.has("default")) throw new PyException("KeyError", pyRepr(key));
      return dflt;
    }
    const v = mappingGet(d, key);
    dictDelete(d, key);
    return v;
  },
  clear: (d) => () => { for (const [x] of mappingEntries(d)) dictDelete(d, x); return null; },
};

const SET: Table<Set<unknown>> = {
  add: (s) => (a, k) => { const [x] = p("add", [["elem", REQUIRED]], a, k); if (!contains(s, x)) s.add(keyOf(x)); return null; },
  discard: (s) => (a, k) => { const [x] = p("discard", [["elem", REQUIRED]], a, k); for (const y of s) if (pyEq(y, x)) s.delete(y); return null; },
  union: (s) => (a) => { const out = new Set(s); for (const o of a) for (const x of iterate(o)) if (!contains(out, x)) out.add(x); return out; },
  intersection: (s) => (a) => new Set([...s].filter((x) => a.every((o) => contains(iterate(o), x)))),
  difference: (s) => (a) => new Set([...s].filter((x) => !a.some((o) => contains(iterate(o), x)))),
  symmetric_difference: (s) => (a) => {
    const o = iterate(a[0]);
    return new Set([...[...s].filter((x) => !contains(o, x)), ...o.filter((x) => !contains(s, x))]);
  },
  issubset: (s) => (a) => [...s].every((x) => contains(iterate(a[0]), x)),
  issuperset: (s) => (a) => iterate(a[0]).every((x) => contains(s, x)),
  isdisjoint: (s) => (a) => !iterate(a[0]).some((x) => contains(s, x)),
  copy: (s) => () => new Set(s),
};

/** Attributes Python has on these types that this runtime refuses rather than approximates. */
const UNSUPPORTED: Record<string, string[]> = {
  str: ["encode", "format_map", "isidentifier", "isprintable", "maketrans", "translate"],
  list: [],
  dict: ["fromkeys", "popitem"],
  set: ["pop", "remove", "update", "clear", "intersection_update", "difference_update", "symmetric_difference_update"],
};

function lookupIn<T>(table: Table<T>, self: T, name: string, typeLabel: string, lookup: Lookup): PyFunction | undefined {
  if (Object.prototype.hasOwnProperty.call(table, name)) {
    return pyFunction(name, table[name]!(self, lookup));
  }
  if (UNSUPPORTED[typeLabel]?.includes(name)) {
    throw new PyException("NotImplementedError", `${typeLabel}.${name}() is not supported in templates`);
  }
  return undefined;
}

/** The bound method `name` of a str, list, tuple, dict or set value, or undefined. */
export function pyMethod(v: unknown, name: string, lookup: Lookup): PyFunction | undefined {
  const s = strValue(v);
  if (s !== undefined) return lookupIn(STR, s, name, "str", lookup);
  if (v instanceof PyTuple) return lookupIn(TUPLE, v, name, "tuple", lookup);
  if (v instanceof DictView) return undefined;
  if (Array.isArray(v)) return lookupIn(LIST, v, name, "list", lookup);
  if (v instanceof Set) return lookupIn(SET, v, name, "set", lookup);
  if (isMapping(v)) return lookupIn(DICT, v, name, "dict", lookup);
  return undefined;
}
