// Bcfg2's service rule shared by every init tool: when an entry of a bundle was modified, the
// bundle's services are restarted (status on) or stopped (off), honouring restart="false" and
// restart="interactive"; under --root nothing on the host is ever started or stopped.
import type { XmlElement } from "../../protocol/xml.js";
import type { States, Tool, ToolContext } from "./tool.js";

export interface ServiceControl {
  /** "restart" or "stop"; resolves true on success. */
  control(name: string, action: "restart" | "stop", ctx: ToolContext): Promise<boolean>;
  /** Why services cannot be controlled right now (under --root, init not running), or undefined. */
  cannotControl(ctx: ToolContext): string | undefined;
}

export async function restartBundleServices(tool: Tool & ServiceControl, bundle: XmlElement, ctx: ToolContext, restarted: Set<string>): Promise<States> {
  for (const entry of bundle.children) {
    if (!tool.handles(entry)) continue;
    const name = entry.attrs.name ?? "";
    const status = entry.attrs.status ?? "on";
    const restart = (entry.attrs.restart ?? "true").toLowerCase();
    if (entry.attrs.install === "false" || restart === "false" || status === "ignore") continue;
    if (restart === "interactive" && !ctx.interactive) continue;
    const why = tool.cannotControl(ctx);
    if (why) {
      ctx.log.info(`Service ${name}: not ${status === "on" ? "restarted" : "stopped"} (${why})`);
      continue;
    }
    if (status === "on") {
      if (restarted.has(name)) continue;
      if (ctx.interactive && !(await ctx.prompt(`Restart service ${name}? (y/N) `))) continue;
      if (await tool.control(name, "restart", ctx)) restarted.add(name);
      else ctx.log.error(`Failed to manipulate service ${name}`);
    } else if (!(await tool.control(name, "stop", ctx))) ctx.log.error(`Failed to manipulate service ${name}`);
  }
  return new Map();
}
