// The Cfg plugin's entry point for the plugin registry.
import type { PluginFactory } from "../../core/context.js";
import { CfgPlugin } from "./cfg-plugin.js";

export { CfgPlugin } from "./cfg-plugin.js";

export const cfgPlugin: PluginFactory = (ctx) => new CfgPlugin(ctx);
