// Probe output as upstream's ProbeData: a str (printing, comparing and str methods as the text)
// with .data, .json (None unless JSON) and .xdata (None unless XML); and metadata.Probes, a dict.
import type { ProbeValueView } from "../../../core/metadata.js";
import { PY_STR, PY_TYPE } from "../../../templates/python/host-objects.js";
import { isXmlElement, xmlView } from "./xdata.js";
import { PyException } from "../../../templates/python/values.js";
import { pySplit } from "../../../templates/python/methods.js";

function escapeClass(chars: string): string {
  return chars.replace(/[\]\\^-]/g, "\\$&");
}

/** A probe value: Python sees a str (valueOf), with extra attributes. */
export class ProbeString {
  readonly value: string;
  private readonly view?: ProbeValueView;
  constructor(view: ProbeValueView | string) {
    if (typeof view === "string") this.value = view;
    else {
      this.value = view.value ?? String(view);
      this.view = view;
    }
  }
  /** Parsed lazily by the Probes connector; None when the output is not JSON. */
  get json(): unknown {
    return this.view?.json ?? null;
  }
  get xdata(): unknown {
    const x = this.view?.xdata;
    return x && isXmlElement(x) ? xmlView(x) : null;
  }
  /** Upstream's ProbeData.data. */
  get data(): string {
    return this.value;
  }
  toString(): string {
    return this.value;
  }
  valueOf(): string {
    return this.value;
  }
  get length(): number {
    return this.value.length;
  }
  // nunjucks (which calls JS methods on the object) needs the str methods here too.
  strip(chars?: string): string {
    return chars ? this.rstrip(chars).replace(new RegExp(`^[${escapeClass(chars)}]+`), "") : this.value.trim();
  }
  rstrip(chars?: string): string {
    return chars ? this.value.replace(new RegExp(`[${escapeClass(chars)}]+$`), "") : this.value.trimEnd();
  }
  lstrip(chars?: string): string {
    return chars ? this.value.replace(new RegExp(`^[${escapeClass(chars)}]+`), "") : this.value.trimStart();
  }
  split(sep?: string | null, maxsplit = -1): string[] {
    return pySplit(this.value, sep ?? undefined, maxsplit);
  }
  splitlines(): string[] {
    return this.value.split(/\r?\n/).filter((l, i, a) => !(i === a.length - 1 && l === ""));
  }
  lower(): string {
    return this.value.toLowerCase();
  }
  upper(): string {
    return this.value.toUpperCase();
  }
  startswith(p: string): boolean {
    return this.value.startsWith(p);
  }
  endswith(p: string): boolean {
    return this.value.endsWith(p);
  }
  replace(a: string | RegExp, b: string): string {
    return typeof a === "string" ? this.value.split(a).join(b) : this.value.replace(a, b);
  }
  indexOf(s: string): number {
    return this.value.indexOf(s);
  }
}

/** metadata.Probes: a dict of probe name → ProbeString ([k], get, keys, values, items, in, len, iteration). */
export class ProbeMap {
  [name: string]: unknown;
  constructor(source: Record<string, unknown>) {
    for (const [k, v] of Object.entries(source)) this[k] = v instanceof ProbeString ? v : new ProbeString(v as ProbeValueView | string);
  }
  get(this: ProbeMap, key: unknown, dflt: unknown = null): unknown {
    return Object.prototype.hasOwnProperty.call(this, String(key)) ? this[String(key)] : dflt;
  }
  keys(this: ProbeMap): string[] {
    return Object.keys(this);
  }
  values(this: ProbeMap): unknown[] {
    return Object.values(this);
  }
  items(this: ProbeMap): Array<[string, unknown]> {
    return Object.entries(this);
  }
  __getitem__(this: ProbeMap, key: unknown): unknown {
    if (!Object.prototype.hasOwnProperty.call(this, String(key))) throw new PyException("KeyError", `'${String(key)}'`);
    return this[String(key)];
  }
  __len__(this: ProbeMap): number {
    return Object.keys(this).length;
  }
  __contains__(this: ProbeMap, key: unknown): boolean {
    return Object.prototype.hasOwnProperty.call(this, String(key));
  }
  [PY_TYPE](): string {
    return "dict";
  }
  [PY_STR](this: ProbeMap): string {
    return `{${Object.entries(this).map(([k, v]) => `'${k}': '${String(v).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/'/g, "\\'")}'`).join(", ")}}`;
  }
}
// Methods live on the prototype, non-enumerable, so `for k in metadata.Probes` sees only probes.
for (const m of ["get", "keys", "values", "items", "__getitem__", "__contains__", "__len__"]) {
  Object.defineProperty(ProbeMap.prototype, m, { enumerable: false });
}
