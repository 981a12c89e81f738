// The variables templates see (Cfg text templates, templated bundles and Rules), shaped like
// upstream's so templates written for Bcfg2 work unchanged: `metadata` with ClientMetadata's
// attributes (sets, dicts, Probes, Properties, connectors, inGroup, group_in_category, query),
// plus name, path, source_path, repo and params (the Context connector) for text templates.
import type { PluginContext } from "../../../core/context.js";
import { buildClientMetadata } from "../../../core/build-metadata.js";
import { fingerprint, recordBuildInput } from "../../../core/build-inputs.js";
import type { ClientMetadata } from "../../../core/metadata.js";
import { PY_REPR, PY_TYPE } from "../../../templates/python/host-objects.js";
import { ProbeMap } from "./probe-data.js";
import { propertiesView } from "./properties-view.js";
import { PyException, pyRepr } from "../../../templates/python/values.js";

/** What metadata.query reads: every client's metadata, built once per client run. */
interface QuerySnapshot {
  clients: string[];
  metas: Map<string, ClientMetadata>;
  allGroups: Set<string>;
  inCategory(category: string): Set<string>;
}

const snapshots = new WeakMap<ClientMetadata, QuerySnapshot>();

const queryUsers = new WeakSet<object>();

/** Records whether a compiled template's source uses metadata.query (only those pay for every client's metadata). */
export function noteQueryUse<T extends object>(compiled: T, source: string): T {
  if (/\bquery\b/.test(source)) queryUsers.add(compiled);
  return compiled;
}

export function needsQuery(compiled: object): boolean {
  return queryUsers.has(compiled);
}

async function buildSnapshot(meta: ClientMetadata, ctx: PluginContext): Promise<QuerySnapshot> {
  const md = ctx.metadata();
  const clients = await md.listClients();
  const metas = new Map<string, ClientMetadata>();
  for (const c of clients) metas.set(c, c === meta.hostname ? meta : await buildClientMetadata(md, ctx.plugins(), c));
  return {
    clients,
    metas,
    allGroups: md.allGroups?.() ?? new Set(),
    inCategory: (category) => md.groupsInCategory?.(category) ?? new Set(),
  };
}

/**
 * Builds the metadata of every client for `meta`'s run (upstream's MetadataQuery calls
 * build_metadata per client), before a template that uses metadata.query renders. The build
 * cache is told: the answer depends on every client's metadata, checked again before reuse.
 */
export async function prepareQuery(meta: ClientMetadata, ctx: PluginContext): Promise<void> {
  if (snapshots.has(meta)) return;
  let snapshot: QuerySnapshot | undefined;
  await recordBuildInput(meta, "metadata.query (every client's metadata)", async () => {
    const s = await buildSnapshot(meta, ctx);
    snapshot ??= s;
    return fingerprint([s.clients, [...s.metas.values()], [...s.allGroups]]);
  }, { fromRepositoryAndStore: true });
  snapshots.set(meta, snapshot!);
  // The other clients' views answer query calls from the same snapshot.
  for (const other of snapshot!.metas.values()) if (!snapshots.has(other)) snapshots.set(other, snapshot!);
}

function sortedSet(items: Set<string>): Set<string> {
  // Nothing to order in an empty or one-name set (aliases and addresses mostly are).
  return items.size < 2 ? new Set(items) : new Set([...items].sort());
}

/** Upstream's MetadataQuery: reads of every client's metadata, as lists and sets. */
export class MetadataQuery {
  readonly #meta: ClientMetadata;
  constructor(meta: ClientMetadata) {
    this.#meta = meta;
  }
  #snap(): QuerySnapshot {
    const s = snapshots.get(this.#meta);
    if (!s) throw new PyException("RuntimeError", "metadata.query is available in Cfg templates and bundles, not in Rules/Defaults templates");
    return s;
  }
  by_name(name: unknown): TemplateMetadata {
    const s = this.#snap();
    const n = String(name).toLowerCase();
    const m = s.metas.get(n) ?? [...s.metas.values()].find((x) => x.aliases.has(n));
    if (!m) throw new PyException("MetadataConsistencyError", `Client ${n} does not exist`);
    return templateMetadata(m);
  }
  names_by_groups(groups: unknown): string[] {
    const want = [...(groups as Iterable<unknown>)].map(String);
    const s = this.#snap();
    return s.clients.filter((c) => want.every((g) => s.metas.get(c)!.groups.has(g)));
  }
  names_by_profiles(profiles: unknown): string[] {
    const want = [...(profiles as Iterable<unknown>)].map(String);
    const s = this.#snap();
    return s.clients.filter((c) => want.includes(s.metas.get(c)!.profile));
  }
  all_clients(): string[] {
    return [...this.#snap().clients];
  }
  all_groups(): Set<string> {
    return sortedSet(this.#snap().allGroups);
  }
  all_groups_in_category(category: unknown): Set<string> {
    return sortedSet(this.#snap().inCategory(String(category)));
  }
  by_groups(groups: unknown): TemplateMetadata[] {
    return this.names_by_groups(groups).map((n) => this.by_name(n));
  }
  by_profiles(profiles: unknown): TemplateMetadata[] {
    return this.names_by_profiles(profiles).map((n) => this.by_name(n));
  }
  all(): TemplateMetadata[] {
    return this.all_clients().map((n) => this.by_name(n));
  }
  [PY_TYPE](): string {
    return "MetadataQuery";
  }
}

/**
 * Upstream's ClientMetadata as templates see it (the password is not exposed). The sorted copies
 * and the query object are made when a template first reads them (most read only hostname and a
 * connector): the view is made on every build, and its fields are read-only.
 */
export class TemplateMetadata {
  [connector: string]: unknown;
  declare readonly hostname: string;
  declare readonly profile: string;
  declare readonly uuid: string | null;
  declare readonly version: string | null;
  readonly #meta: ClientMetadata;
  #groups?: Set<string>;
  #bundles?: Set<string>;
  #aliases?: Set<string>;
  #addresses?: Set<string>;
  #categories?: Record<string, string>;
  #connectors?: string[];
  #query?: MetadataQuery;

  constructor(meta: ClientMetadata) {
    this.#meta = meta;
    this.hostname = meta.hostname;
    this.profile = meta.profile;
    this.uuid = meta.uuid ?? null;
    this.version = meta.version ?? null;
    const connectors = meta.connectors;
    let probes = false;
    for (const name in connectors) {
      const value = connectors[name];
      if (name === "Probes") {
        probes = true;
        this.Probes = typeof value === "object" && value !== null ? new ProbeMap(value as Record<string, unknown>) : value;
      } else if (name === "Properties") this.Properties = propertiesView(value, meta);
      // A connector named like one of the fields above replaces it, as upstream's setattr does.
      else if (name in TemplateMetadata.prototype) Object.defineProperty(this, name, { value, writable: true, enumerable: true, configurable: true });
      else this[name] = value;
    }
    if (!probes) this.Probes = new ProbeMap({});
  }

  get groups(): Set<string> {
    return (this.#groups ??= sortedSet(this.#meta.groups));
  }
  get bundles(): Set<string> {
    return (this.#bundles ??= sortedSet(this.#meta.bundles));
  }
  get aliases(): Set<string> {
    return (this.#aliases ??= sortedSet(this.#meta.aliases));
  }
  get addresses(): Set<string> {
    return (this.#addresses ??= sortedSet(this.#meta.addresses));
  }
  get categories(): Record<string, string> {
    return (this.#categories ??= Object.fromEntries([...this.#meta.categories].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  }
  /** Names of the connectors that added data (upstream's metadata.connectors). */
  get connectors(): string[] {
    return (this.#connectors ??= Object.keys(this.#meta.connectors ?? {}));
  }
  get query(): MetadataQuery {
    return (this.#query ??= new MetadataQuery(this.#meta));
  }

  inGroup(group: unknown): boolean {
    return this.groups.has(String(group));
  }
  group_in_category(category: unknown): string {
    return this.categories[String(category)] ?? "";
  }
  [PY_REPR](): string {
    return `ClientMetadata(${this.hostname}, profile=${this.profile}, groups=${pyRepr(this.groups)})`;
  }
  [PY_TYPE](): string {
    return "ClientMetadata";
  }
  static metaOf(v: TemplateMetadata): ClientMetadata {
    return v.#meta;
  }
}
for (const m of ["inGroup", "group_in_category"]) Object.defineProperty(TemplateMetadata.prototype, m, { enumerable: false });

/**
 * The views of the last few metadata objects (a build asks for its client's once per template;
 * builds in flight at once get their own). Not a WeakMap keyed by the metadata: V8's young-generation
 * collections keep a WeakMap's values as if their keys were alive, and the view holds its metadata,
 * so every build's metadata since the last full collection would be copied and promoted.
 */
const RECENT_VIEWS = 8;
const recentMetas: Array<ClientMetadata | undefined> = new Array<ClientMetadata | undefined>(RECENT_VIEWS).fill(undefined);
const recentViews: Array<TemplateMetadata | undefined> = new Array<TemplateMetadata | undefined>(RECENT_VIEWS).fill(undefined);
let nextView = 0;

/** The metadata templates see, one view per metadata object (connector data is per run). */
export function templateMetadata(meta: ClientMetadata): TemplateMetadata {
  for (let i = 0; i < RECENT_VIEWS; i++) if (recentMetas[i] === meta) return recentViews[i]!;
  const v = new TemplateMetadata(meta);
  recentMetas[nextView] = meta;
  recentViews[nextView] = v;
  nextView = (nextView + 1) % RECENT_VIEWS;
  return v;
}

/** The ClientMetadata behind a template's metadata view (for XMLMatch(metadata) calls). */
export function clientMetadataOf(v: unknown): ClientMetadata | undefined {
  return v instanceof TemplateMetadata ? TemplateMetadata.metaOf(v) : undefined;
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
  return {
    metadata: templateMetadata(meta),
    name,
    path: pathIs === "entry" ? name : templatePath,
    source_path: templatePath,
    repo,
    params: meta.connectors?.Context ?? {},
  };
}
