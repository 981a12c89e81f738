// The Decisions plugin: Decisions/whitelist.xml and blacklist.xml, <Decision type= name=> with
// Group/Client conditionals, for GetDecisionList.
import { join } from "node:path";
import type { XmlElement } from "../../protocol/xml.js";
import { FileCache } from "../core/file-cache.js";
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { ClientMetadata } from "../core/metadata.js";
import type { AnyPlugin, DecisionRole } from "../core/roles.js";
import { findAll, xmlMatch } from "./shared/xml-match.js";
import { xincludeParser } from "./shared/xinclude.js";

export class DecisionsPlugin implements AnyPlugin, DecisionRole {
  readonly name = "Decisions";
  private readonly files: FileCache<XmlElement>;

  constructor(private readonly ctx: PluginContext) {
    // DecisionFile is a StructFile upstream: XIncludes resolved.
    this.files = new FileCache(xincludeParser(ctx.settings.repo));
  }

  async getDecisions(meta: ClientMetadata, mode: string): Promise<Array<[string, string]>> {
    // Upstream does getattr(self, mode): any other mode raises, and the core logs it and sends [].
    if (mode !== "whitelist" && mode !== "blacklist") throw new Error(`'Decisions' object has no attribute '${mode}'`);
    const root = this.files.get(join(this.ctx.settings.repo, "Decisions", `${mode}.xml`));
    if (!root) return [];
    // Upstream's './/Decision' on the matched tree; the attributes may be absent (None upstream).
    return findAll(xmlMatch(root, meta), "Decision").map((d) => [d.attrs.type ?? "", d.attrs.name ?? ""] as [string, string]);
  }
}

export const decisionsPlugin: PluginFactory = (ctx) => new DecisionsPlugin(ctx);
