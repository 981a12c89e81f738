// The loaded plugins sorted by role, once per plugin list: a build walks only the plugins that play
// each role instead of asking every plugin for every method (a property lookup across a dozen
// plugin classes on each build, which runs unoptimized early in a process's life).
import type { AnyPlugin } from "./roles.js";

export interface PluginsByRole {
  /** Connectors with additionalGroups, in load order. */
  readonly groupConnectors: readonly AnyPlugin[];
  /** Connectors with additionalData, in load order. */
  readonly dataConnectors: readonly AnyPlugin[];
  readonly structures: readonly AnyPlugin[];
  readonly structureValidators: readonly AnyPlugin[];
  /** Every plugin with bindEntry (upstream's Generators, and Defaults, which the core never picks). */
  readonly generators: AnyPlugin[];
  readonly goalValidators: readonly AnyPlugin[];
  readonly runHooks: readonly AnyPlugin[];
}

const byList = new WeakMap<readonly AnyPlugin[], { length: number; roles: PluginsByRole }>();

/** The roles of a plugin list (kept per list; a list is never changed once loaded, and a changed length is sorted again). */
export function pluginsByRole(plugins: readonly AnyPlugin[]): PluginsByRole {
  const hit = byList.get(plugins);
  if (hit && hit.length === plugins.length) return hit.roles;
  const roles: PluginsByRole = {
    groupConnectors: plugins.filter((p) => p.additionalGroups),
    dataConnectors: plugins.filter((p) => p.additionalData),
    structures: plugins.filter((p) => p.buildStructures),
    structureValidators: plugins.filter((p) => p.validateStructures),
    generators: plugins.filter((p) => p.bindEntry),
    goalValidators: plugins.filter((p) => p.validateGoals),
    runHooks: plugins.filter((p) => p.endClientRun),
  };
  byList.set(plugins, { length: plugins.length, roles });
  return roles;
}
