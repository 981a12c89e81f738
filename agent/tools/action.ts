// The Action tool: commands run before (pre) or after (post) a bundle's changes, when="always" or
// only when the bundle was modified, status="check" (exit code counts) or "ignore". Under --root
// they run chrooted into the root; when they cannot (no /bin/sh there, not root) the entry says why.
import { actionEntry } from "../../protocol/entries.js";
import type { XmlElement } from "../../protocol/xml.js";
import { chrootArgv, chrootRefusal } from "../root.js";
import type { States, Tool, ToolContext } from "./tool.js";

export class ActionTool implements Tool {
  readonly name = "Action";

  handles(entry: XmlElement): boolean {
    return entry.tag === "Action" || entry.tag === "BoundAction";
  }

  /** Actions always verify: they are run by install (pre) and bundle callbacks (post). */
  async verify(): Promise<boolean> {
    return true;
  }

  private async run(entry: XmlElement, ctx: ToolContext): Promise<boolean> {
    const a = actionEntry(entry);
    if (ctx.dryRun) {
      ctx.log.debug(`In dryrun mode: not running action: ${a.name}`);
      return false;
    }
    if (ctx.interactive && !(await ctx.prompt(`Run Action ${a.name}, ${a.command}: (y/N): `))) return false;
    let argv = ["/bin/sh", "-c", a.command];
    if (ctx.root !== "/") {
      const refused = chrootRefusal(ctx.root, "/bin/sh");
      if (refused) {
        entry.attrs.current_failure = `not run: ${refused}`;
        ctx.log.error(`Action ${a.name}: ${entry.attrs.current_failure}`);
        return a.status === "ignore";
      }
      argv = chrootArgv(ctx.root, argv);
    }
    const r = await ctx.exec(argv);
    entry.attrs.rc = String(r.code);
    ctx.log.debug(`Action: ${a.command} got return code ${r.code}`);
    return a.status === "ignore" || r.code === 0;
  }

  async install(entries: XmlElement[], ctx: ToolContext): Promise<States> {
    const states: States = new Map();
    for (const e of entries) states.set(e, e.attrs.timing === "post" ? true : await this.run(e, ctx));
    return states;
  }

  async bundleUpdated(bundle: XmlElement, ctx: ToolContext): Promise<States> {
    const states: States = new Map();
    for (const e of bundle.children) {
      if (!this.handles(e) || e.attrs.failure !== undefined || !["post", "both"].includes(e.attrs.timing ?? "post") || e.attrs.install === "false") continue;
      states.set(e, await this.run(e, ctx));
    }
    return states;
  }

  async bundleNotUpdated(bundle: XmlElement, ctx: ToolContext): Promise<States> {
    const states: States = new Map();
    for (const e of bundle.children) {
      // An action the server could not bind has no trustworthy command: never run it.
      if (!this.handles(e) || e.attrs.failure !== undefined || !["post", "both"].includes(e.attrs.timing ?? "post") || e.attrs.when === "modified") continue;
      if (e.attrs.install === "false") continue;
      states.set(e, await this.run(e, ctx));
    }
    return states;
  }
}
