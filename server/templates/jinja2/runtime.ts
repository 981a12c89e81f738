// Jinja2's runtime objects: Undefined (the default class, as Bcfg2 leaves it), Markup,
// one-shot generators (what map/select/... return), range, loop, namespace, cycler, joiner.
import { pyFunction, type PyFunction } from "../python/callables.js";
import {
  PyException, PY_EQ, PY_REPR, PY_STR, PY_TRUTH, PY_TYPE, pyRepr, strRepr, typeName,
} from "../python/values.js";

function undefinedError(detail: string): PyException {
  return new PyException("UndefinedError", detail);
}

function objectTypeRepr(o: unknown): string {
  if (o === null || o === undefined) return "None";
  return `${typeName(o)} object`;
}

/** jinja2.Undefined: prints as "", iterates as empty, is false; anything else raises. */
export class Undefined {
  [PY_TYPE](): string {
    return "Undefined";
  }
  constructor(
    readonly hint?: string,
    readonly obj?: { value: unknown },
    readonly name?: string,
  ) {}
  get message(): string {
    if (this.hint) return this.hint;
    if (!this.obj) return `${strRepr(this.name ?? "")} is undefined`;
    return `${strRepr(objectTypeRepr(this.obj.value))} has no attribute ${strRepr(this.name ?? "")}`;
  }
  fail(): never {
    throw undefinedError(this.message);
  }
  [PY_STR](): string {
    return "";
  }
  [PY_REPR](): string {
    return "Undefined";
  }
  [PY_TRUTH](): boolean {
    return false;
  }
  [PY_EQ](other: unknown): boolean {
    return other instanceof Undefined;
  }
  [Symbol.iterator](): Iterator<unknown> {
    return [][Symbol.iterator]();
  }
  get length(): number {
    return 0;
  }
}

/** jinja2.utils.missing: what a scope's variables hold after it ends, seen by a macro defined in it. */
class MissingType {
  [PY_TYPE](): string {
    return "MissingType";
  }
  [PY_STR](): string {
    return "missing";
  }
  [PY_REPR](): string {
    return "missing";
  }
}
export const JINJA_MISSING = Object.freeze(new MissingType());

export function isUndefined(v: unknown): v is Undefined {
  return v instanceof Undefined;
}

/** markupsafe.escape() of a str. */
export function htmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&#34;").replace(/'/g, "&#39;");
}

/** markupsafe.Markup: a str marked safe (escape/safe/tojson return it). */
export class Markup {
  [PY_TYPE](): string {
    return "Markup";
  }
  constructor(readonly text: string) {}
  valueOf(): string {
    return this.text;
  }
  toString(): string {
    return this.text;
  }
  [PY_REPR](): string {
    return `Markup(${strRepr(this.text)})`;
  }
}

/** A Python generator/iterator: one pass, always true, no len(), prints with an address (refused). */
export class PyIterator {
  private pos = 0;
  constructor(
    private readonly items: unknown[],
    readonly kind = "generator",
  ) {}
  [PY_TYPE](): string {
    return this.kind;
  }
  [Symbol.iterator](): Iterator<unknown> {
    const rest = this.items.slice(this.pos);
    this.pos = this.items.length;
    return rest[Symbol.iterator]();
  }
  [PY_TRUTH](): boolean {
    return true;
  }
  [PY_REPR](): string {
    throw new PyException("NotImplementedError", `printing a ${this.kind} object (Python prints its memory address) is not supported`);
  }
}

/** range(): a lazy sequence in Python; here its items, printing as range(a, b[, s]). */
export class PyRange extends Array<number> {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
  static make(start: number, stop: number, step: number): PyRange {
    if (step === 0) throw new PyException("ValueError", "range() arg 3 must not be zero");
    const r = new PyRange();
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) {
      r.push(i);
      if (r.length > 1_000_000) throw new PyException("OverflowError", "range() in a template is limited to 1000000 items");
    }
    Object.defineProperty(r, PY_TYPE, { value: () => "range" });
    Object.defineProperty(r, PY_REPR, { value: () => (step === 1 ? `range(${start}, ${stop})` : `range(${start}, ${stop}, ${step})`) });
    return r;
  }
}

/** namespace(): an object whose attributes `{% set ns.x = ... %}` may assign. */
export class Namespace {
  [PY_TYPE](): string {
    return "Namespace";
  }
  readonly attrs = new Map<string, unknown>();
  [PY_REPR](): string {
    return `<Namespace {${[...this.attrs].map(([k, v]) => `${strRepr(k)}: ${pyRepr(v)}`).join(", ")}}>`;
  }
}

export class Cycler {
  [PY_TYPE](): string {
    return "Cycler";
  }
  pos = 0;
  constructor(readonly items: unknown[]) {
    if (!items.length) throw new PyException("RuntimeError", "at least one item has to be provided");
  }
  get current(): unknown {
    return this.items[this.pos];
  }
  attr(name: string): unknown {
    if (name === "current") return this.current;
    if (name === "items") return this.items;
    if (name === "next") return pyFunction("next", () => { const v = this.current; this.pos = (this.pos + 1) % this.items.length; return v; });
    if (name === "reset") return pyFunction("reset", () => { this.pos = 0; return null; });
    return undefined;
  }
}

export function joiner(sep: string): PyFunction {
  let used = false;
  return pyFunction("joiner", () => {
    if (!used) {
      used = true;
      return "";
    }
    return sep;
  });
}

/** loop: index, index0, revindex(0), first, last, length, depth(0), previtem, nextitem, cycle, changed. */
export class LoopContext {
  [PY_TYPE](): string {
    return "LoopContext";
  }
  index0 = -1;
  private lastChanged: unknown = Symbol("none");
  constructor(
    readonly items: unknown[],
    readonly depth0: number,
    readonly recurse: PyFunction | undefined,
  ) {}
  attr(name: string, undef: (name: string) => Undefined, eq: (a: unknown, b: unknown) => boolean): unknown {
    const n = this.items.length;
    switch (name) {
      case "index0": return this.index0;
      case "index": return this.index0 + 1;
      case "revindex": return n - this.index0;
      case "revindex0": return n - this.index0 - 1;
      case "first": return this.index0 === 0;
      case "last": return this.index0 === n - 1;
      case "length": return n;
      case "depth": return this.depth0 + 1;
      case "depth0": return this.depth0;
      case "previtem": return this.index0 > 0 ? this.items[this.index0 - 1] : undef("there is no previous item");
      case "nextitem": return this.index0 < n - 1 ? this.items[this.index0 + 1] : undef("there is no next item");
      case "cycle":
        return pyFunction("cycle", (args) => {
          if (!args.length) throw new PyException("TypeError", "no items for cycling given");
          return args[this.index0 % args.length];
        });
      case "changed":
        return pyFunction("changed", (args) => {
          const v = args;
          if (this.lastChanged instanceof Array && eq(this.lastChanged, v)) return false;
          this.lastChanged = v;
          return true;
        });
    }
    return undefined;
  }
  [PY_REPR](): string {
    return `<LoopContext ${this.index0 + 1}/${this.items.length}>`;
  }
}

