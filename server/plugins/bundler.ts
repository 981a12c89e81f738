// The Bundler plugin: Bundler/*.xml bundles with Group/Client conditionals resolved, named by
// their file as upstream, RequiredBundle expansion, independent bundles and <Path glob=..>.
import { join } from "node:path";
import { cloneElement, el, type XmlElement } from "../../protocol/xml.js";
import { DirCache, FileCache } from "../core/file-cache.js";
import { failureBundle, repoRelativeMessage } from "../core/structure-failure.js";
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { ClientMetadata } from "../core/metadata.js";
import type { AnyPlugin, StructureRole, StructureValidatorRole } from "../core/roles.js";
import { globBaseDir, globToRegExp } from "../../lib/fnmatch.js";
import { SharedMatches, structFileParser, type StructFile } from "./shared/struct-file.js";
import { elementDecryptor } from "./shared/encryption.js";
import { needsQuery, prepareQuery } from "./shared/template-data/template-data.js";

const BUNDLE_FILE = /^(.*)\.(xml|genshi)$/;

/** Whether the client's version is at least 1.4.0pre2 (upstream compares Bcfg2VersionInfo tuples; no version → false). */
function supportsInheritModification(version: string | undefined): boolean {
  if (version === undefined) return false;
  const m = /^(\d+)\.(\d+)\.(\d+)(?:(pre|rc)(\d+))?/.exec(version);
  if (!m) return false;
  const nums = [Number(m[1]), Number(m[2]), Number(m[3])];
  const want = [1, 4, 0];
  for (let i = 0; i < 3; i++) if (nums[i] !== want[i]) return nums[i] > want[i];
  if (!m[4]) return true;
  return m[4] === "rc" || Number(m[5]) >= 2;
}

function hasChildTagged(e: XmlElement, tag: string): boolean {
  const kids = e.children;
  for (let i = 0; i < kids.length; i++) if (kids[i]!.tag === tag) return true;
  return false;
}

export class BundlerPlugin implements AnyPlugin, StructureRole, StructureValidatorRole {
  readonly name = "Bundler";
  private readonly dir: string;
  private readonly dirCache = new DirCache();
  private readonly files: FileCache<StructFile>;

  constructor(private readonly ctx: PluginContext) {
    this.dir = join(ctx.settings.repo, "Bundler");
    this.files = new FileCache(structFileParser(ctx.settings.repo, elementDecryptor(ctx.settings.encryption, ctx.logger)));
    this.shared = new SharedMatches(ctx.settings.repo);
  }

  /** Bundles as they apply to clients, shared between clients alike (copied before use: binding fills them in). */
  private readonly shared: SharedMatches;

  /** Bundle name → file name and path, from the directory listing (bundle names come from file names). */
  private bundleFiles(): Map<string, { file: string; path: string }> {
    const listing = this.dirCache.list(this.dir);
    let out = this.byListing.get(listing);
    if (out) return out;
    out = new Map();
    for (const f of listing) {
      const m = BUNDLE_FILE.exec(f);
      if (m) out.set(m[1], { file: f, path: join(this.dir, f) });
    }
    this.byListing.set(listing, out);
    return out;
  }

  /** bundleFiles per listing (the DirCache returns the same array while the directory is unchanged). */
  private readonly byListing = new WeakMap<string[], Map<string, { file: string; path: string }>>();

  async buildStructures(meta: ClientMetadata): Promise<XmlElement[]> {
    const files = this.bundleFiles();
    const out: XmlElement[] = [];
    const pending = [...meta.bundles];
    const added = new Set(pending);
    while (pending.length) {
      const name = pending.shift()!;
      const found = files.get(name);
      if (!found) {
        // Upstream only logs this; the client is told too (a failure entry), so its run is not clean.
        const origin = this.ctx.metadata().bundleOrigin?.(name);
        const reason = `bundle "${name}"${origin ? ` (named at ${repoRelativeMessage(origin, this.ctx.settings.repo)})` : ""} has no file Bundler/${name}.xml`;
        this.ctx.logger.error({ client: meta.hostname, bundle: name, err: reason }, "Bundler: bundle does not exist");
        out.push(failureBundle(name, reason));
        continue;
      }
      let data: XmlElement;
      try {
        const src = this.files.get(found.path);
        if (!src) throw new Error(`Bundler/${found.file}: file disappeared while being read`);
        if (src.template && needsQuery(src.template)) await prepareQuery(meta, this.ctx);
        data = src.template ? this.shared.get(src, meta) : cloneElement(this.shared.get(src, meta));
      } catch (e) {
        // Upstream logs "Failed to render templated bundle" and leaves the bundle out; the client is told too.
        const reason = `bundle "${name}" could not be built: ${repoRelativeMessage((e as Error).message, this.ctx.settings.repo)}`;
        this.ctx.logger.error({ client: meta.hostname, bundle: name, err: reason }, "Bundler: failed to load or render bundle");
        out.push(failureBundle(name, reason));
        continue;
      }
      if ((data.attrs.independent ?? "false").toLowerCase() === "true") {
        data.tag = "Independent";
        delete data.attrs.independent;
      }
      data.attrs.name = name;
      // Most bundles have neither: no filtered copies of their children on every build.
      if (hasChildTagged(data, "Bundle")) for (const child of data.children.filter((c) => c.tag === "Bundle")) {
        // An XIncluded bundle: its entries join this bundle; an empty <Bundle/> is dropped.
        data.children.push(...child.children);
        data.children.splice(data.children.indexOf(child), 1);
      }
      // After the nested bundles' entries joined (they may require bundles too).
      if (hasChildTagged(data, "RequiredBundle")) for (const child of data.children.filter((c) => c.tag === "RequiredBundle")) {
        const req = child.attrs.name;
        if (req) {
          if (!added.has(req)) {
            pending.push(req);
            added.add(req);
          }
          if (child.attrs.inherit_modification === "true") {
            if (supportsInheritModification(meta.version)) data.children.push(el("Bundle", { name: req }));
            else this.ctx.logger.warn({ bundle: name }, 'inherit_modification="true" needs a 1.4.0pre2+ client');
          }
        } else {
          this.ctx.logger.warn({ bundle: name }, "Bundler: RequiredBundle without name");
        }
        data.children.splice(data.children.indexOf(child), 1);
      }
      out.push(data);
    }
    return out;
  }

  /** Upstream's validate_structures: <Path glob=..> → one <Path name=..> per generator path that matches. */
  validateStructures(meta: ClientMetadata, structures: XmlElement[]): Promise<void> | undefined {
    // Without a glob (most builds) nothing to wait for: no promise.
    for (let i = 0; i < structures.length; i++) if (hasGlob(structures[i]!)) return this.expandFrom(structures, i, meta);
    return undefined;
  }

  private async expandFrom(structures: XmlElement[], from: number, meta: ClientMetadata): Promise<void> {
    for (let i = from; i < structures.length; i++) if (hasGlob(structures[i]!)) await this.expandIn(structures[i]!, meta);
  }

  private async expandIn(parent: XmlElement, meta: ClientMetadata): Promise<void> {
    for (const child of [...parent.children]) {
      if (child.tag === "Path" && child.attrs.glob !== undefined) {
        const re = globToRegExp(child.attrs.glob);
        const under = globBaseDir(child.attrs.glob);
        for (const gen of this.ctx.plugins()) {
          if (!gen.bindEntry || !gen.entryNames) continue;
          for (const name of await gen.entryNames("Path", meta, under)) if (re.test(name)) parent.children.push(el("Path", { name }));
        }
        parent.children.splice(parent.children.indexOf(child), 1);
      } else if (hasGlob(child)) {
        await this.expandIn(child, meta);
      }
    }
  }
}

/** Whether a <Path glob=..> is anywhere below `e` (most structures have none: nothing is copied or awaited for them). */
function hasGlob(e: XmlElement): boolean {
  for (const c of e.children) if ((c.tag === "Path" && c.attrs.glob !== undefined) || hasGlob(c)) return true;
  return false;
}

export const bundlerPlugin: PluginFactory = (ctx) => new BundlerPlugin(ctx);
