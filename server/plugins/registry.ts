// Plugin names → factories, and loadPlugins(names, ctx): what `[server] plugins` means in vacfg.
import { VacfgError } from "../../protocol/errors.js";
import type { Logger } from "pino";
import type { PluginContext, PluginFactory, ServerSettings } from "../core/context.js";
import type { AnyPlugin, MetadataRole } from "../core/roles.js";
import { sharedReads } from "../core/store-reads.js";
import type { CoreStore } from "../store/store.js";
import { bundlerPlugin } from "./bundler.js";
import { contextPlugin } from "./context.js";
import { decisionsPlugin } from "./decisions.js";
import { defaultsPlugin } from "./defaults.js";
import { metadataPlugin } from "./metadata/index.js";
import { groupPatternsPlugin } from "./group-patterns.js";
import { triggerPlugin } from "./trigger.js";
import { packagesPlugin } from "./packages/index.js";
import { probesPlugin } from "./probes.js";
import { propertiesPlugin } from "./properties.js";
import { rulesPlugin } from "./rules.js";
import { reportingPlugin } from "./reporting.js";
import { cfgPlugin } from "./cfg/index.js"; // Cfg: owned by the Cfg engineer (server/plugins/cfg/)
import { sshbasePlugin } from "./sshbase/index.js"; // SSHbase: owned by the Cfg engineer (server/plugins/sshbase/)

export const PLUGINS: Record<string, PluginFactory> = {
  Metadata: metadataPlugin,
  Probes: probesPlugin,
  Context: contextPlugin,
  Bundler: bundlerPlugin,
  Rules: rulesPlugin,
  Defaults: defaultsPlugin,
  Cfg: cfgPlugin, // Cfg
  SSHbase: sshbasePlugin, // SSHbase
  Properties: propertiesPlugin,
  Decisions: decisionsPlugin,
  Reporting: reportingPlugin,
  GroupPatterns: groupPatternsPlugin, // not in DEFAULT_PLUGINS: enabled by listing it, as upstream
  Trigger: triggerPlugin, // not in DEFAULT_PLUGINS: it runs scripts, enabled by listing it, as upstream
  Packages: packagesPlugin, // not in DEFAULT_PLUGINS: it downloads indexes, enabled by listing it, as upstream
};

export const DEFAULT_PLUGINS = ["Metadata", "Probes", "Context", "Bundler", "Rules", "Defaults", "Cfg", "SSHbase", "Properties", "Decisions", "Reporting"];

/** Constructs the named plugins in order; Metadata is always loaded (the core needs it). */
export function loadPlugins(names: string[], ctx: PluginContext): AnyPlugin[] {
  const list = names.includes("Metadata") ? names : ["Metadata", ...names];
  const seen = new Set<string>();
  const out: AnyPlugin[] = [];
  for (const name of list) {
    if (seen.has(name)) continue;
    seen.add(name);
    const factory = PLUGINS[name];
    if (!factory) throw new VacfgError("REPO_FILE", `unknown plugin "${name}" (known: ${Object.keys(PLUGINS).join(", ")})`);
    out.push(factory(ctx));
  }
  return out;
}

/**
 * The usual wiring: a PluginContext whose metadata()/plugins() see the loaded list, and the
 * plugins themselves, ready for `new Core(settings, store, logger, plugins)` and `core.init()`.
 */
export function instantiatePlugins(settings: ServerSettings, store: CoreStore, logger: Logger, names: string[] = settings.plugins.length ? settings.plugins : DEFAULT_PLUGINS): AnyPlugin[] {
  let plugins: AnyPlugin[] = [];
  let found: MetadataRole | undefined;
  const ctx: PluginContext = {
    settings,
    // Probe data, registrations and the client list are read once per GetConfig (store-reads.ts).
    store: sharedReads(store),
    logger,
    // Asked several times per build; the list does not change once loaded.
    metadata: () => {
      if (found) return found;
      const m = plugins.find((p) => p.buildMetadata && p.authenticate);
      if (!m) throw new VacfgError("METADATA", "no Metadata plugin loaded");
      return (found = m as unknown as MetadataRole);
    },
    plugins: () => plugins,
  };
  plugins = loadPlugins(names, ctx);
  return plugins;
}
