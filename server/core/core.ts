// The server core: finds plugins by role and implements every client-run method with upstream
// Bcfg2 Core semantics (faults, <error/> documents, statistics hand-off, admin methods).
import type { Logger } from "pino";
import { VacfgError } from "../../protocol/errors.js";
import { serializeProbes } from "../../protocol/documents/probes.js";
import { parseStatistics } from "../../protocol/documents/statistics.js";
import { parseXml, serializeXml, el } from "../../protocol/xml.js";
import type { XmlRpcValue } from "../../protocol/xmlrpc/values.js";
import type { CoreStore, Store } from "../store/store.js";
import { BuildCache, type BuildKey } from "./build-cache.js";
import { buildConfiguration, StructureError } from "./build-config.js";
import { buildClientMetadata } from "./build-metadata.js";
import type { AdminMethod, ClientRunApi, RequestScope } from "./client-api.js";
import type { ServerSettings } from "./context.js";
import type { AuthDecision, AuthRequest, ClientMetadata } from "./metadata.js";
import { METHOD_HELP } from "./method-help.js";
import { RepoWatcher } from "./repo-watch.js";
import { closeStoreVersion, directReads, openStoreVersion } from "./store-reads.js";
import { pluginsByRole } from "./plugin-roles.js";
import type { AnyPlugin, MetadataRole } from "./roles.js";
import { Timings } from "./timings.js";

/**
 * Limits on the documents a client sends (statistics, probe data): enough for a host with tens of
 * thousands of entries, small enough that a hostile document cannot build a tree that exhausts memory.
 */
export const CLIENT_DOCUMENT_LIMITS = { maxElements: 20_000, maxDepth: 32 } as const;

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Upstream's critical_error: an XML-RPC fault -32500 "Critical failure: …". */
function critical(message: string, code: "CRITICAL" | "PROFILE" = "CRITICAL", cause?: unknown): VacfgError {
  return new VacfgError(code, `Critical failure: ${message}`, cause !== undefined ? { cause } : undefined);
}

function asBool(v: XmlRpcValue | undefined): boolean {
  if (typeof v === "boolean") return v;
  return String(v ?? "").toLowerCase() === "true";
}

/** Without a repository watcher nothing is vouched for: every cache checks the disk. */
const UNWATCHED: RequestScope = { vouched: (fn) => fn() };

export interface CoreOptions {
  /** Reuse finished configurations while their inputs are unchanged (default true; one-shot tools turn it off). */
  buildCache?: boolean;
  buildCacheBytes?: number;
  /**
   * Watch the repository for changes (default: when the build cache is on). Without the build
   * cache, a build still reuses parsed files without a stat per file (repo-trust.ts).
   */
  watch?: boolean;
}

/** S: the store; the core itself uses only CoreStore (a server's is the whole Store its reports read, local mode's the memory store). */
export class Core<S extends CoreStore = Store> implements ClientRunApi {
  readonly timings = new Timings();
  private debug = false;
  private readonly pluginDebug = new Map<string, boolean>();
  private readonly metadata: MetadataRole;

  /** Finished configurations reused while their inputs are unchanged (absent with `buildCache: false`). */
  readonly buildCache?: BuildCache;
  private readonly watcher?: RepoWatcher;

  constructor(
    readonly settings: ServerSettings,
    readonly store: S,
    readonly logger: Logger,
    readonly plugins: AnyPlugin[],
    options: CoreOptions = {},
  ) {
    if (options.watch ?? options.buildCache ?? true) this.watcher = new RepoWatcher(settings.repo, logger);
    if (this.watcher && (options.buildCache ?? true)) this.buildCache = new BuildCache(this.watcher, () => store.metadataVersion(), options.buildCacheBytes, store.metadataVersionNow && (() => store.metadataVersionNow!()));
    const metas = plugins.filter((p) => p.buildMetadata && p.authenticate);
    if (metas.length === 0) throw new VacfgError("METADATA", "no Metadata plugin loaded");
    if (metas.length > 1) logger.error({ using: metas[0].name }, "multiple Metadata plugins loaded");
    this.metadata = metas[0] as unknown as MetadataRole;
  }

  /** Resolves when the repository watch is complete (builds are cached from then on). */
  watching: Promise<void> = Promise.resolve();

  /** Calls every plugin's init() in order; a large repository's watch goes on in the background. */
  async init(): Promise<void> {
    for (const p of this.plugins) await p.init?.();
    if (this.watcher) this.watching = this.watcher.start();
  }

  async close(): Promise<void> {
    this.watcher?.close();
    for (const p of [...this.plugins].reverse()) {
      try {
        await p.close?.();
      } catch (e) {
        this.logger.error({ plugin: p.name, err: msg(e) }, "plugin close failed");
      }
    }
  }

  private byName(name: string): AnyPlugin | undefined {
    return this.plugins.find((p) => p.name === name);
  }

  /** Upstream build_metadata: initial metadata, then connector groups, then connector data. */
  async buildMetadata(client: string): Promise<ClientMetadata> {
    // Timed inline (no closure and second async frame: every build runs this).
    const start = performance.now();
    try {
      return await buildClientMetadata(this.metadata, this.plugins, client);
    } finally {
      this.timings.add("Core:build_metadata", (performance.now() - start) / 1e3);
    }
  }

  /** build_metadata as the client methods call it: any failure is a critical fault. */
  private async resolve(client: string): Promise<ClientMetadata> {
    try {
      return await this.buildMetadata(client);
    } catch (e) {
      this.logger.error({ client, err: msg(e) }, "metadata resolution failed");
      throw critical(`Client metadata resolution error for ${client}: ${msg(e)}`, "CRITICAL", e);
    }
  }

  /** What a settled request runs vouched for by the repository watch (one object for every request). */
  private readonly watchedScope: RequestScope = { vouched: (fn) => this.watcher!.trustedNow(fn) };

  /** A request's start: the repository settled as of its arrival (one event-loop turn, two when queued). */
  beginRequest(queued: boolean): Promise<RequestScope> {
    const w = this.watcher;
    if (!w) return Promise.resolve(UNWATCHED);
    return queued ? w.settle(this.watchedScope) : w.settleArrived(this.watchedScope);
  }

  authenticate(req: AuthRequest): Promise<AuthDecision | undefined> {
    return this.timings.time("Core:authenticate", () => this.metadata.authenticate(req));
  }

  authenticateNow(req: AuthRequest): AuthDecision | undefined {
    if (!this.metadata.authenticateNow) return undefined;
    const start = performance.now();
    const decision = this.metadata.authenticateNow(req);
    // Timed as a decision only when it is one (undefined: `authenticate` decides, and is timed).
    if (decision) this.timings.add("Core:authenticate", (performance.now() - start) / 1e3);
    return decision;
  }

  // Every request but GetConfig reads the store itself, also while a GetConfig shares its reads (store-reads.ts).
  assertProfile(client: string, profile: string): Promise<boolean> {
    return directReads(this.store, () => this.assertProfileNow(client, profile));
  }

  private async assertProfileNow(client: string, profile: string): Promise<boolean> {
    try {
      await this.metadata.setProfile(client, profile);
    } catch (e) {
      throw critical(`Unable to assert profile for ${client}: ${msg(e)}`, "PROFILE", e);
    }
    return true;
  }

  declareVersion(client: string, version: string): Promise<boolean> {
    return directReads(this.store, () => this.declareVersionNow(client, version));
  }

  private async declareVersionNow(client: string, version: string): Promise<boolean> {
    return this.timings.time("Core:DeclareVersion", async () => {
      try {
        await this.metadata.setVersion(client, version);
      } catch (e) {
        throw critical(`Unable to set version for ${client}: ${msg(e)}`, "CRITICAL", e);
      }
      return true;
    });
  }

  getProbes(client: string): Promise<string> {
    return directReads(this.store, () => this.getProbesNow(client));
  }

  private async getProbesNow(client: string): Promise<string> {
    const meta = await this.resolve(client);
    try {
      const probes = [];
      for (const p of this.plugins) if (p.getProbes) probes.push(...(await p.getProbes(meta)));
      return serializeProbes(probes);
    } catch (e) {
      throw critical(`Error determining probes for ${client}: ${msg(e)}`, "CRITICAL", e);
    }
  }

  recvProbeData(client: string, probeData: string): Promise<boolean> {
    return directReads(this.store, () => this.recvProbeDataNow(client, probeData));
  }

  private async recvProbeDataNow(client: string, probeData: string): Promise<boolean> {
    const meta = await this.resolve(client);
    let root;
    try {
      root = parseXml(probeData, { source: "RecvProbeData", keepBlankText: true, ...CLIENT_DOCUMENT_LIMITS });
    } catch (e) {
      throw critical(`Failed to parse probe data from client ${client}: ${msg(e)}`, "CRITICAL", e);
    }
    const sources: string[] = [];
    for (const d of root.children) {
      const source = d.attrs.source ?? "";
      if (sources.includes(source)) continue;
      if (!this.byName(source)?.receiveData) {
        this.logger.warn({ client, source }, "failed to locate plugin for probe data");
        continue;
      }
      sources.push(source);
    }
    for (const source of sources) {
      const items = root.children
        .filter((d) => (d.attrs.source ?? "") === source)
        .map((d) => ({ name: d.attrs.name ?? "", source, output: d.text ?? "" }));
      try {
        await this.byName(source)!.receiveData!(meta, items);
      } catch (e) {
        throw critical(`Failed to process probe data from client ${client}: ${msg(e)}`, "CRITICAL", e);
      }
    }
    return true;
  }

  getDecisionList(client: string, mode: string): Promise<Array<[string, string]>> {
    return directReads(this.store, () => this.getDecisionListNow(client, mode));
  }

  private async getDecisionListNow(client: string, mode: string): Promise<Array<[string, string]>> {
    const meta = await this.resolve(client);
    const out: Array<[string, string]> = [];
    for (const p of this.plugins) {
      if (!p.getDecisions) continue;
      try {
        out.push(...(await p.getDecisions(meta, mode)));
      } catch (e) {
        this.logger.error({ plugin: p.name, err: msg(e) }, "failed to generate decision list");
      }
    }
    return out;
  }

  /**
   * With a settled request's scope the answer is keyed without waiting for the repository again, and
   * one the build cache vouches for without a wait is returned as it is, not as a promise.
   */
  getConfig(client: string): Promise<string>;
  getConfig(client: string, scope: RequestScope | undefined): string | Promise<string>;
  getConfig(client: string, scope?: RequestScope): string | Promise<string> {
    if (scope !== undefined && this.buildCache) {
      const start = performance.now();
      const reused = this.buildCache.reuseNow(client);
      if (reused) {
        this.endClientRun(reused.meta);
        this.timings.add("Core:GetConfig", (performance.now() - start) / 1e3);
        return reused.body;
      }
    }
    return this.build(client, scope);
  }

  /** GetConfig from the build cache or built, timed as Core:GetConfig: one async frame for the whole request (no closure per step). */
  private async build(client: string, scope: RequestScope | undefined): Promise<string> {
    const start = performance.now();
    try {
      // The repository generation and the store's metadata version are taken before anything is
      // read, so a change made during the build counts.
      let key: BuildKey | undefined;
      // Store reads are shared by the plugins of this build from the version read first (store-reads.ts).
      let version: number | undefined;
      if (this.buildCache) {
        key = await this.buildCache.begin(scope !== undefined);
        const reused = await this.buildCache.reuse(client, key);
        if (reused) {
          this.endClientRun(reused.meta);
          return reused.body;
        }
        version = key?.storeVersion;
      } else {
        // Read before the repository settles; SQLite and memory stores answer without a promise.
        const now = this.store.metadataVersionNow?.();
        if (now !== undefined) {
          version = now;
          await this.watcher?.settle();
        } else [version] = await Promise.all([this.store.metadataVersion().catch(() => undefined), this.watcher?.settle()]);
      }
      // The watcher vouches for the repository (repo-watch.ts trusted) and the store's reads are shared (store-reads.ts) while it is answered.
      const trusted = this.watcher?.openTrust() ?? false;
      const shared = openStoreVersion(this.store, version);
      try {
        return await this.answer(client, key);
      } finally {
        closeStoreVersion(shared);
        if (trusted) this.watcher!.closeTrust();
      }
    } finally {
      this.timings.add("Core:GetConfig", (performance.now() - start) / 1e3);
    }
  }

  /** GetConfig once the repository's changes are settled: from the build cache, or built. */
  private async answer(client: string, key: BuildKey | undefined): Promise<string> {
    let meta: ClientMetadata;
    try {
      meta = await this.buildMetadata(client);
    } catch (e) {
      this.logger.error({ client, err: msg(e) }, "metadata error");
      return serializeXml(el("error", { type: "metadata error" }));
    }
    const cached = await this.buildCache?.lookup(meta, key, client);
    if (cached && "body" in cached) {
      this.endClientRun(meta);
      return cached.body;
    }
    try {
      const report = { failures: 0 };
      const config = await buildConfiguration(meta, { plugins: this.plugins, logger: this.logger, timings: this.timings, report });
      const body = serializeXml(config);
      if (cached?.ticket) this.buildCache!.store(meta, cached.ticket, body, report.failures > 0);
      this.endClientRun(meta);
      return body;
    } catch (e) {
      if (e instanceof StructureError) return serializeXml(el("error", { type: "structure error" }));
      throw e;
    }
  }

  /** Upstream's end_client_run hook, after every configuration built (or answered from the build cache). */
  private endClientRun(meta: ClientMetadata): void {
    for (const p of pluginsByRole(this.plugins).runHooks) {
      try {
        p.endClientRun!(meta);
      } catch (e) {
        this.logger.error({ plugin: p.name, client: meta.hostname, err: msg(e) }, "end_client_run hook failed");
      }
    }
  }

  recvStats(client: string, statistics: string): Promise<boolean> {
    return directReads(this.store, () => this.recvStatsNow(client, statistics));
  }

  private async recvStatsNow(client: string, statistics: string): Promise<boolean> {
    const meta = await this.resolve(client);
    let stats;
    try {
      stats = parseStatistics(statistics, CLIENT_DOCUMENT_LIMITS);
    } catch (e) {
      // Upstream lets the XMLSyntaxError escape the method: fault code 1 with its text. A document
      // that parses but is not a statistics document is logged and dropped, as upstream does.
      if (!(e instanceof VacfgError) || e.code !== "DOC_INVALID") throw new VacfgError("METHOD_FAILED", msg(e), { cause: e });
      this.logger.error({ client, err: msg(e) }, "statistics document not understood");
      return true;
    }
    if (stats.version >= "2.0") {
      for (const p of this.plugins) {
        if (!p.processStatistics) continue;
        try {
          await p.processStatistics(meta, stats, statistics);
        } catch (e) {
          // Acknowledged means stored: a run that was not committed is a fault, so the client keeps
          // its statistics and sends them again (upstream queues them and always answers True).
          this.logger.error({ plugin: p.name, client, err: msg(e) }, "plugin failed to store statistics");
          throw critical(`Statistics of ${client} were not stored: ${msg(e)}`, "CRITICAL", e);
        }
      }
    }
    this.logger.info({ client, state: stats.state }, "client reported state");
    return true;
  }

  private setDebug(v: XmlRpcValue | undefined): boolean {
    this.debug = asBool(v);
    this.logger.level = this.debug ? "debug" : "info";
    return this.debug;
  }

  /** The plugins and their RMI are fixed once constructed: the table is built on first use. */
  private admin?: Record<string, AdminMethod>;

  adminMethods(): Record<string, AdminMethod> {
    return (this.admin ??= this.adminTable());
  }

  private adminTable(): Record<string, AdminMethod> {
    const out: Record<string, AdminMethod> = {
      get_statistics: { help: METHOD_HELP.get_statistics, call: async () => this.timings.display() },
      toggle_debug: { help: METHOD_HELP.toggle_debug, call: async () => this.setDebug(!this.debug) },
      set_debug: { help: METHOD_HELP.set_debug, call: async (d) => this.setDebug(d) },
      toggle_core_debug: { help: METHOD_HELP.toggle_core_debug, call: async () => this.setDebug(!this.debug) },
      set_core_debug: { help: METHOD_HELP.set_core_debug, call: async (d) => this.setDebug(d) },
      expire_metadata_cache: {
        help: METHOD_HELP.expire_metadata_cache,
        // Metadata is rebuilt on every call from stat-cached files; finished configurations are dropped.
        call: async () => (this.buildCache?.clear(), null),
      },
    };
    for (const p of this.plugins) {
      const flip = (v: boolean) => (this.pluginDebug.set(p.name, v), v);
      out[`${p.name}.toggle_debug`] = { help: "Turn debugging output on or off.", call: async () => flip(!this.pluginDebug.get(p.name)) };
      out[`${p.name}.set_debug`] = { help: "Explicitly enable or disable debugging.", call: async (d) => flip(asBool(d)) };
      for (const [m, rmi] of Object.entries(p.rmi ?? {})) out[`${p.name}.${m}`] = { ...rmi, call: (...a) => directReads(this.store, () => rmi.call(...a)) };
    }
    return out;
  }

  methodHelp(name: string): string | undefined {
    return METHOD_HELP[name] ?? this.adminMethods()[name]?.help;
  }
}
