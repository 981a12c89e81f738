// The SysV init tool (Debian, Service type="deb"): a service is on when an S link to its init
// script exists in /etc/rc[2-5].d and, on the live system, `invoke-rc.d NAME status` says it runs
// (upstream DebInit's check_service). On the host update-rc.d and invoke-rc.d do the work; under
// --root the agent writes the same links itself (update-rc.d has no root option) and runs nothing.
import { existsSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { serviceEntry } from "../../protocol/entries.js";
import { el, type XmlElement } from "../../protocol/xml.js";
import { inRoot } from "../root.js";
import { restartBundleServices, type ServiceControl } from "./service-restart.js";
import type { States, Tool, ToolContext } from "./tool.js";

const START_LEVELS = ["2", "3", "4", "5"];
const STOP_LEVELS = ["0", "1", "6"];

export class SysvTool implements Tool, ServiceControl {
  readonly name = "DebInit";
  private readonly restarted = new Set<string>();

  handles(entry: XmlElement): boolean {
    return (entry.tag === "Service" || entry.tag === "BoundService") && (entry.attrs.type === "deb" || entry.attrs.type === "sysv");
  }

  private links(ctx: ToolContext, level: string, name: string): string[] {
    const dir = inRoot(ctx.root, `/etc/rc${level}.d`);
    try {
      return readdirSync(dir).filter((f) => /^[SK]\d\d/.test(f) && f.slice(3) === name).map((f) => `${dir}/${f}`);
    } catch {
      return [];
    }
  }

  private isOn(ctx: ToolContext, name: string): boolean {
    return START_LEVELS.some((l) => this.links(ctx, l, name).some((p) => p.split("/").pop()!.startsWith("S")));
  }

  cannotControl(ctx: ToolContext): string | undefined {
    return ctx.root !== "/" ? `applying under --root ${ctx.root}` : undefined;
  }

  async control(name: string, action: "restart" | "stop", ctx: ToolContext): Promise<boolean> {
    return (await ctx.exec(["invoke-rc.d", name, action])).code === 0;
  }

  async verify(entry: XmlElement, ctx: ToolContext): Promise<boolean> {
    const s = serviceEntry(entry);
    if (s.status === "ignore") return true;
    if (!existsSync(inRoot(ctx.root, `/etc/init.d/${s.name}`))) {
      entry.attrs.current_status = "off";
      entry.attrs.target_status = s.status;
      ctx.log.info(`Service ${s.name}: no /etc/init.d/${s.name}`);
      return s.status === "off";
    }
    const on = this.isOn(ctx, s.name);
    const running = ctx.root === "/" ? await this.running(ctx, s.name) : on;
    if ((s.status === "on") === on && on === running) return true;
    entry.attrs.target_status = s.status;
    entry.attrs.current_status = on && running ? "on" : "off";
    if (on !== running) ctx.log.info(`Service ${s.name}: ${on ? "enabled but not running" : "disabled but running"}`);
    return false;
  }

  /** LSB: `status` exits 0 when the service runs. */
  private async running(ctx: ToolContext, name: string): Promise<boolean> {
    return (await ctx.exec(["invoke-rc.d", "--quiet", name, "status"])).code === 0;
  }

  /** The links update-rc.d defaults/disable would leave (S01 in 2-5 when on, K01 everywhere else). */
  private writeLinks(ctx: ToolContext, name: string, on: boolean): void {
    for (const level of [...START_LEVELS, ...STOP_LEVELS]) {
      for (const p of this.links(ctx, level, name)) rmSync(p, { force: true });
      const dir = inRoot(ctx.root, `/etc/rc${level}.d`);
      if (!existsSync(dir)) continue;
      const start = on && START_LEVELS.includes(level);
      symlinkSync(`../init.d/${name}`, `${dir}/${start ? "S01" : "K01"}${name}`);
    }
  }

  async install(entries: XmlElement[], ctx: ToolContext): Promise<States> {
    const states: States = new Map();
    for (const e of entries) {
      const s = serviceEntry(e);
      if (e.attrs.install === "false" || s.status === "ignore" || !existsSync(inRoot(ctx.root, `/etc/init.d/${s.name}`))) {
        states.set(e, await this.verify(e, ctx));
        continue;
      }
      const on = s.status === "on";
      if (ctx.root === "/") {
        const r = await ctx.exec(["update-rc.d", s.name, on ? "defaults" : "disable"]);
        if (on && r.code === 0) await ctx.exec(["update-rc.d", s.name, "enable"]);
        if (r.code !== 0) ctx.log.error(`DebInit: update-rc.d ${s.name} failed: ${r.stderr.trim()}`);
        await ctx.exec(["invoke-rc.d", s.name, on ? "start" : "stop"]);
      } else {
        this.writeLinks(ctx, s.name, on);
      }
      for (const k of ["current_status", "target_status"]) delete e.attrs[k];
      states.set(e, await this.verify(e, ctx));
    }
    return states;
  }

  async findExtra(managed: XmlElement[], ctx: ToolContext): Promise<XmlElement[]> {
    const names = new Set(managed.map((e) => e.attrs.name));
    let scripts: string[];
    try {
      scripts = readdirSync(inRoot(ctx.root, "/etc/init.d"));
    } catch {
      return [];
    }
    return scripts.filter((n) => !names.has(n) && this.isOn(ctx, n)).map((n) => el("Service", { name: n, type: "deb" }));
  }

  async remove(extras: XmlElement[], ctx: ToolContext): Promise<void> {
    for (const e of extras) {
      const n = e.attrs.name ?? "";
      if (ctx.root === "/") {
        await ctx.exec(["invoke-rc.d", n, "stop"]);
        await ctx.exec(["update-rc.d", n, "disable"]);
      } else this.writeLinks(ctx, n, false);
    }
  }

  bundleUpdated(bundle: XmlElement, ctx: ToolContext): Promise<States> {
    return restartBundleServices(this, bundle, ctx, this.restarted);
  }
}
