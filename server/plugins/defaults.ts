// The Defaults plugin: Defaults/*.xml (priority=) fills attributes a bound entry lacks, after
// binding (upstream runs it as a GoalValidator), names always matched as regexes.
import type { XmlElement } from "../../protocol/xml.js";
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { ClientMetadata } from "../core/metadata.js";
import type { AnyPlugin, GoalValidatorRole } from "../core/roles.js";
import { PrioDir } from "./shared/prio-dir.js";

export class DefaultsPlugin extends PrioDir implements AnyPlugin, GoalValidatorRole {
  readonly name = "Defaults";

  constructor(ctx: PluginContext) {
    super(ctx, "Defaults");
  }

  protected regexEnabled(): boolean {
    return true;
  }

  protected replaceNameEnabled(): boolean {
    return this.ctx.settings.defaultsReplaceName ?? false;
  }

  /** Defaults binds nothing itself: it is not a generator for the core. */
  override handlesEntry(): boolean {
    return false;
  }

  validateGoals(meta: ClientMetadata, config: XmlElement): void {
    const structs = config.children;
    for (let i = 0; i < structs.length; i++) {
      const entries = structs[i]!.children;
      for (let j = 0; j < entries.length; j++) {
        // No (or conflicting) defaults are fine; anything else (a bad regex) throws and stops, as upstream.
        const r = this.winner(entries[j]!, meta);
        if (typeof r !== "string") this.apply(entries[j]!, r);
      }
    }
  }
}

// It has bindEntry (from PrioDir) but handlesEntry() is false and it serves no exact names,
// so the core never picks it as a generator, exactly as upstream.
export const defaultsPlugin: PluginFactory = (ctx) => new DefaultsPlugin(ctx);
