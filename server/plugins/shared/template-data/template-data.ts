// The variables a Cfg template sees, shaped like upstream's so repository templates written
// for Bcfg2 work: metadata (hostname, groups, Probes, Properties, ...), name, path,
// source_path, repo, plus params (the Context connector).
import type { ClientMetadata, ProbeValueView } from "../../../core/metadata.js";
import { isXmlElement, xmlView } from "./xml-view.js";

/** A probe value as a Python-string-like object: prints as its text, has strip/split/json/xdata. */
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
  /** Parsed lazily by the Probes connector; only templates that ask pay for it. */
  get json(): unknown {
    return this.view?.json;
  }
  get xdata(): unknown {
    const x = this.view?.xdata;
    return x && isXmlElement(x) ? xmlView(x) : x;
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

function escapeClass(chars: string): string {
  return chars.replace(/[\]\\^-]/g, "\\$&");
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

/** A Python-dict-like map of probe values: ['x'], .get('x', dflt), .keys(), .items(), `in`. */
export class ProbeMap {
  [name: string]: unknown;
  constructor(source: Record<string, unknown>) {
    for (const [k, v] of Object.entries(source)) {
      this[k] = v instanceof ProbeString ? v : new ProbeString(v as ProbeValueView | string);
    }
  }
  get(this: ProbeMap, key: string, dflt: unknown = null): unknown {
    return Object.prototype.hasOwnProperty.call(this, key) ? this[key] : dflt;
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
}
// Methods live on the prototype, non-enumerable, so `for k in metadata.Probes` sees only probes.
for (const m of ["get", "keys", "values", "items"]) {
  Object.defineProperty(ProbeMap.prototype, m, { enumerable: false });
}

function asView(v: unknown): unknown {
  return isXmlElement(v) ? xmlView(v) : v;
}

/** Properties connector data: every file's xdata becomes an lxml-like view. */
function propertiesView(source: unknown): unknown {
  if (typeof source !== "object" || source === null) return source;
  const out: Record<string, unknown> = {};
  for (const [file, data] of Object.entries(source as Record<string, unknown>)) {
    if (typeof data === "object" && data !== null) {
      const copy: Record<string, unknown> = Object.create(Object.getPrototypeOf(data));
      for (const key of Object.getOwnPropertyNames(data)) copy[key] = (data as Record<string, unknown>)[key];
      for (const [key, value] of Object.entries(copy)) {
        if (isXmlElement(value)) copy[key] = xmlView(value);
        // e.g. XMLMatch(): its result is an element too
        else if (typeof value === "function") copy[key] = (...args: unknown[]) => asView((value as (...a: unknown[]) => unknown).apply(data, args));
      }
      out[file] = copy;
    } else out[file] = data;
  }
  return out;
}

export interface TemplateMetadata {
  hostname: string;
  profile: string;
  /** Sorted array (upstream: a set): `'g' in metadata.groups` works in every template language. */
  groups: string[];
  bundles: string[];
  aliases: string[];
  addresses: string[];
  categories: Record<string, string>;
  uuid: string | null;
  password: string | null;
  version: string | null;
  group_in_category(category: string): string;
  [connector: string]: unknown;
}

/** The metadata templates see (built per render: connector data may change between runs). */
export function templateMetadata(meta: ClientMetadata): TemplateMetadata {
  const categories = Object.fromEntries(meta.categories);
  const view: TemplateMetadata = {
    hostname: meta.hostname,
    profile: meta.profile,
    groups: [...meta.groups].sort(),
    bundles: [...meta.bundles].sort(),
    aliases: [...meta.aliases].sort(),
    addresses: [...meta.addresses].sort(),
    categories,
    uuid: meta.uuid ?? null,
    password: meta.password ?? null,
    version: meta.version ?? null,
    group_in_category: (category: string) => categories[category] ?? "",
  };
  for (const [name, data] of Object.entries(meta.connectors ?? {})) {
    if (name === "Probes" && typeof data === "object" && data !== null) view[name] = new ProbeMap(data as Record<string, unknown>);
    else if (name === "Properties") view[name] = propertiesView(data);
    else view[name] = data;
  }
  if (!("Probes" in view)) view.Probes = new ProbeMap({});
  return view;
}

export interface TemplateVars {
  metadata: TemplateMetadata;
  name: string;
  path: string;
  source_path: string;
  repo: string;
  params: unknown;
  [k: string]: unknown;
}

/**
 * Upstream's DefaultTemplateDataProvider: name (realname or name), metadata, source_path,
 * repo; `path` is the entry name for Jinja2 and the template file for Genshi.
 */
export function templateVars(
  entry: { attrs: Record<string, string> },
  meta: ClientMetadata,
  templatePath: string,
  repo: string,
  pathIs: "entry" | "template",
): TemplateVars {
  const name = entry.attrs.realname ?? entry.attrs.name ?? "";
  const metadata = templateMetadata(meta);
  return {
    metadata,
    name,
    path: pathIs === "entry" ? name : templatePath,
    source_path: templatePath,
    repo,
    params: meta.connectors?.Context ?? {},
  };
}
