// The "Packages" plugin (upstream Server/Plugins/Packages, Apt backend): Packages/sources.xml names
// APT sources; their indexes are downloaded at start (when not cached) and on Packages.Refresh;
// every client's Package entries get version/type and their dependency closure is added as an
// <Independent name="Packages"> structure; the client's sources.list is the apt_config Path.
import { join } from "node:path";
import { el, type XmlElement } from "../../../protocol/xml.js";
import type { XmlRpcValue } from "../../../protocol/xmlrpc/values.js";
import { parseIni } from "../../../lib/ini.js";
import { recordBuildInput } from "../../core/build-inputs.js";
import type { PackagesOptions, PluginContext, PluginFactory } from "../../core/context.js";
import { FileCache } from "../../core/file-cache.js";
import type { ClientMetadata } from "../../core/metadata.js";
import type { AnyPlugin, ConnectorRole, GeneratorRole, RmiRole, StructureValidatorRole } from "../../core/roles.js";
import { includingParser } from "../shared/xinclude.js";
import { AptCollection } from "./collection.js";
import { IndexCache } from "./index-cache.js";
import { APT_CONFIG_DEFAULT, packagesOptions, YUM_CONFIG_DEFAULT } from "./options.js";
import { parseSources, sourceApplies, type AptSource, type UrlMap } from "./sources.js";

type Options = Required<Omit<PackagesOptions, "cache">>;

/** All Package/BoundPackage elements in a structure (upstream's `//Package | //BoundPackage`). */
function packageEntries(e: XmlElement, out: XmlElement[] = []): XmlElement[] {
  for (const c of e.children) {
    if (c.tag === "Package" || c.tag === "BoundPackage") out.push(c);
    packageEntries(c, out);
  }
  return out;
}

export class PackagesPlugin implements AnyPlugin, StructureValidatorRole, GeneratorRole, ConnectorRole, RmiRole {
  readonly name = "Packages";
  readonly rmi: RmiRole["rmi"];
  readonly cache: IndexCache;
  private readonly sourcesFile: FileCache<AptSource[]>;
  private readonly confFile: FileCache<PackagesOptions>;
  private readonly sourcesPath: string;
  /**
   * Downloads asked for since the last Refresh/Reload, by source: a request that needs a source's
   * missing indexes waits for the one download (concurrent requests share it) and never retries it.
   */
  private readonly downloads = new Map<string, Promise<void>>();

  constructor(private readonly ctx: PluginContext) {
    const { repo, dataDir } = ctx.settings;
    this.sourcesPath = join(repo, "Packages", "sources.xml");
    this.cache = new IndexCache(ctx.settings.packages?.cache ?? join(dataDir, "packages-cache"));
    this.sourcesFile = new FileCache((text, path, deps) =>
      parseSources(includingParser(repo, deps)(text, path), path, (msg) => ctx.logger.error(`Packages: ${msg}`)),
    );
    this.confFile = new FileCache((text, path) => packagesOptions(parseIni(text, path, "REPO_FILE").get("packages"), path, join(repo, "Packages"), "REPO_FILE"));
    this.rmi = {
      Refresh: {
        help: "Packages.Refresh() => True: re-read sources.xml and download every source's indexes again.",
        call: async () => (await this.load(true), true as XmlRpcValue),
      },
      Reload: {
        help: "Packages.Reload() => True: re-read sources.xml and download the indexes that are not cached.",
        call: async () => (await this.load(false), true as XmlRpcValue),
      },
    };
  }

  /** vacfg.conf's [packages], then Packages/packages.conf, then upstream's defaults. */
  options(): Options {
    let repoConf: PackagesOptions = {};
    try {
      repoConf = this.confFile.get(join(this.ctx.settings.repo, "Packages", "packages.conf")) ?? {};
    } catch (e) {
      this.ctx.logger.error({ err: (e as Error).message }, "Packages: packages.conf unusable; using vacfg.conf and the defaults");
    }
    const o = { ...repoConf, ...this.ctx.settings.packages };
    return {
      resolver: o.resolver ?? true,
      metadata: o.metadata ?? true,
      version: o.version ?? "auto",
      aptConfig: o.aptConfig ?? APT_CONFIG_DEFAULT,
      yumConfig: o.yumConfig ?? YUM_CONFIG_DEFAULT,
    };
  }

  /** The sources of the current sources.xml; a broken (or missing) file gives none, logged. */
  sources(): AptSource[] {
    try {
      return this.sourcesFile.get(this.sourcesPath) ?? [];
    } catch (e) {
      this.ctx.logger.error({ err: (e as Error).message }, "Packages: sources.xml unusable; no sources");
      return [];
    }
  }

  async init(): Promise<void> {
    await this.load(false);
  }

  /** upstream _load_sources: every source's indexes, downloaded when missing (all with `force`); stale cache files removed. */
  async load(force: boolean): Promise<void> {
    const sources = this.sources();
    this.downloads.clear();
    if (this.options().metadata && !this.ctx.settings.readOnly) {
      for (const src of sources) await this.download(src, force);
    }
    if (!this.ctx.settings.readOnly) this.cache.prune(sources);
  }

  private download(src: AptSource, force: boolean): Promise<void> {
    const key = src.origin + JSON.stringify(src.urlMap);
    let running = force ? undefined : this.downloads.get(key);
    if (!running) {
      running = this.cache.download(src, force).then((errors) => {
        for (const err of errors) this.ctx.logger.error(`Packages: failed to fetch an index of the source at ${src.origin}: ${err}; some packages will be missing`);
      });
      this.downloads.set(key, running);
    }
    return running;
  }

  /** One collection per client run (upstream keeps it in `clients` until end_client_run). */
  private readonly perRun = new WeakMap<ClientMetadata, Promise<AptCollection>>();

  /** upstream get_collection: the sources that apply to this client, with their data (missing indexes fetched once). */
  collection(meta: ClientMetadata): Promise<AptCollection> {
    let c = this.perRun.get(meta);
    if (!c) this.perRun.set(meta, (c = this.makeCollection(meta)));
    return c;
  }

  private async makeCollection(meta: ClientMetadata): Promise<AptCollection> {
    const relevant = this.sources().filter((s) => sourceApplies(s, meta));
    if (!relevant.length) this.ctx.logger.error(`Packages: No sources found for ${meta.hostname}`);
    const metadata = this.options().metadata;
    const loaded = [];
    for (const src of relevant) {
      if (metadata && !this.ctx.settings.readOnly && this.cache.load(src).missing.length) await this.download(src, false);
      loaded.push({ src, data: this.cache.load(src).data });
    }
    // The closure depends on the downloaded indexes: a refresh (here or by another process) rebuilds it.
    await recordBuildInput(meta, "Packages:indexes", async () => relevant.map((s) => this.cache.signature(s)).join(";"));
    return new AptCollection(meta, loaded);
  }

  /** upstream get_additional_data: templates see metadata.Packages.sources, the url_map of every source that applies. */
  async additionalData(meta: ClientMetadata): Promise<{ sources: UrlMap[] }> {
    return { sources: this.sources().filter((s) => sourceApplies(s, meta)).flatMap((s) => s.urlMap.map((m) => ({ ...m }))) };
  }

  /** upstream validate_structures/_build_packages: the closure of the client's packages as <Independent name="Packages">. */
  async validateStructures(meta: ClientMetadata, structures: XmlElement[]): Promise<void> {
    const opts = this.options();
    const collection = await this.collection(meta);
    const indep = el("Independent", { name: this.name });
    if (!opts.metadata || !opts.resolver) {
      for (const s of structures) for (const p of packageEntries(s)) if (p.attrs.group && p.attrs.type) p.attrs.choose = p.attrs.type;
      structures.push(indep);
      return;
    }
    const initial = new Set<string>();
    const recommended = new Map<string, string>();
    for (const s of structures) {
      for (const p of packageEntries(s)) {
        if (p.attrs.name) {
          initial.add(p.attrs.name);
          if (p.attrs.recommended) recommended.set(p.attrs.name, p.attrs.recommended);
        } else if (p.attrs.group) {
          // APT has no package groups: upstream logs that and drops the entry.
          this.ctx.logger.error(`Packages: Package groups are not supported by AptCollection (group "${p.attrs.group}" for ${meta.hostname})`);
          this.removeEntry(s, p);
        } else {
          this.ctx.logger.error(`Packages: Malformed Package entry (no name or group) for ${meta.hostname}`);
        }
      }
    }
    const base = new Set([...initial, ...collection.essential()]);
    const { packages, unknown } = collection.complete(base, recommended);
    if (unknown.size) this.ctx.logger.info(`Packages: Got ${unknown.size} unknown entries for ${meta.hostname}: ${[...unknown].sort().join(", ")}`);
    const added = [...packages].filter((p) => !initial.has(p)).sort();
    for (const name of added) indep.children.push(el("BoundPackage", { name, version: opts.version, type: collection.ptype, origin: "Packages" }));
    structures.push(indep);
  }

  private removeEntry(root: XmlElement, entry: XmlElement): void {
    const i = root.children.indexOf(entry);
    if (i >= 0) root.children.splice(i, 1);
    else for (const c of root.children) this.removeEntry(c, entry);
  }

  handlesEntry(entry: XmlElement): boolean {
    if (entry.tag === "Package") return true;
    if (entry.tag !== "Path") return false;
    const o = this.options();
    return entry.attrs.name === o.aptConfig || entry.attrs.name === o.yumConfig;
  }

  /** upstream HandleEntry: Package gets version and type; the config Path gets the client's sources.list. */
  async bindEntry(entry: XmlElement, meta: ClientMetadata): Promise<void> {
    const collection = await this.collection(meta);
    if (entry.tag === "Package") {
      entry.attrs.version = this.options().version;
      entry.attrs.type = collection.ptype;
      return;
    }
    if (!collection.sources.length) this.ctx.logger.error(`Packages: Cannot generate config for host ${meta.hostname} with no sources or multiple source types`);
    entry.text = collection.sources.length ? collection.config() : "";
    Object.assign(entry.attrs, { encoding: "ascii", owner: "root", group: "root", type: "file", mode: "0644", important: "true" });
  }
}

export const packagesPlugin: PluginFactory = (ctx) => new PackagesPlugin(ctx);
