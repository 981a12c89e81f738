// The Rules plugin: Rules/*.xml (priority=) binds entries by exact name, by Path name without a
// trailing slash, and by regex when the [rules] regex setting is on (settings.rulesRegex).
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { ClientMetadata } from "../core/metadata.js";
import type { AnyPlugin, GeneratorRole } from "../core/roles.js";
import { PrioDir, type PrioFile } from "./shared/prio-dir.js";

export class RulesPlugin extends PrioDir implements AnyPlugin, GeneratorRole {
  readonly name = "Rules";

  constructor(ctx: PluginContext) {
    super(ctx, "Rules");
  }

  protected regexEnabled(): boolean {
    return this.ctx.settings.rulesRegex ?? false;
  }

  protected replaceNameEnabled(): boolean {
    return this.ctx.settings.rulesReplaceName ?? false;
  }

  /**
   * Upstream's Entries: the names of top-level entries of every file (not those inside
   * Group/Client), whatever the client; those bind as exact-name generators.
   */
  entryNames(tag: string, _meta: ClientMetadata): Set<string> {
    const files = this.loadedFiles();
    let byTag = this.names.get(files);
    if (!byTag) this.names.set(files, (byTag = new Map()));
    let out = byTag.get(tag);
    if (!out) {
      out = new Set<string>();
      for (const f of files) {
        for (const c of f.root.children) if (c.tag === tag && c.attrs.name !== undefined) out.add(c.attrs.name);
      }
      byTag.set(tag, out);
    }
    return out;
  }

  /** Entry names per tag, kept while the loaded files are the same (loadedFiles returns the same list). */
  private readonly names = new WeakMap<PrioFile[], Map<string, Set<string>>>();
}

export const rulesPlugin: PluginFactory = (ctx) => new RulesPlugin(ctx);
