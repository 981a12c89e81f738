// Python value types that JavaScript lacks, so templates print and compare as Python does:
// float (2.0 is not 2) and tuple (prints with parentheses); a set is a JS Set.
// Python's str, int, bool, None, list and dict are JS string, number, boolean, null, Array, plain object.
import { PY_TYPE } from "./host-objects.js";

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
    return pyFloatRepr(this.v);
  }
}

/** repr(float): the shortest round-trip digits (as JS), Python's exponent rules (1e+16, 1e-05) and a ".0" on integers. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, expStr] = x.toExponential().split("e");
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) {
    const m = mant!.includes(".") ? mant! : mant!;
    return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
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
  static from_<T>(items: Iterable<T>): PyTuple<T> {
    const t = new PyTuple<T>();
    for (const i of items) t.push(i);
    return t;
  }
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

/** Python's str.split: no separator splits on runs of whitespace and drops empty ends. */
export function pySplit(s: string, sep?: string, maxsplit = -1): string[] {
  if (sep === undefined) {
    const parts = s.trim() === "" ? [] : s.trim().split(/\s+/);
    if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
    const head = parts.slice(0, maxsplit);
    let rest = s.trimStart();
    for (const h of head) rest = rest.slice(rest.indexOf(h) + h.length).trimStart();
    return [...head, rest];
  }
  const parts = s.split(sep);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sep)];
}

/** A raised-to-be exception value: what TemplateError("msg") or ValueError("msg") evaluates to. */
export class PyException {
  readonly message: string;
  constructor(
    readonly type: string,
    message: unknown,
  ) {
    this.message = typeof message === "string" ? message : String(message);
  }
}
