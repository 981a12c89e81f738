// The SSHbase plugin's entry point for the plugin registry.
import type { PluginFactory } from "../../core/context.js";
import { SSHbasePlugin } from "./sshbase-plugin.js";

export { SSHbasePlugin } from "./sshbase-plugin.js";

export const sshbasePlugin: PluginFactory = (ctx) => new SSHbasePlugin(ctx);
