// The systemd tool: Service entries of type systemd. Enablement through `systemctl [--root=DIR]
// enable|disable` (works offline on an image), a plain enable on a host not run by systemd made
// in-process (systemd-enable.ts); start/stop/restart only on a host booted with systemd.
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { serviceEntry } from "../../protocol/entries.js";
import { el, type XmlElement } from "../../protocol/xml.js";
import { inRoot } from "../root.js";
import { makeUnitLinks, plainEnableLinks, UNIT_SEARCH_PATH } from "./systemd-enable.js";
import { restartBundleServices, type ServiceControl } from "./service-restart.js";
import type { States, Tool, ToolContext } from "./tool.js";

/**
 * systemctl's report of a link it made ("Created symlink A → B.", "->" outside UTF-8; quoted since
 * systemd 254), and its note when the link is in the .wants/ of a unit the root does not have (an
 * image without systemd's own units): the link is made all the same.
 */
const LINK_MADE = /^(Created symlink \S.* (→|->) \S.*|Unit \S.* is added as a dependency to a non-existent unit \S.*)\.$/;

export class SystemdTool implements Tool, ServiceControl {
  readonly name = "Systemd";
  private readonly restarted = new Set<string>();
  /** is-enabled answers asked in prepare, each used once by the verify that follows. */
  private readonly enabled = new Map<string, { state: string; ok: boolean; err: string }>();

  handles(entry: XmlElement): boolean {
    return (entry.tag === "Service" || entry.tag === "BoundService") && entry.attrs.type === "systemd";
  }

  private systemctl(ctx: ToolContext, args: string[]): string[] {
    return ctx.root === "/" ? ["systemctl", ...args] : ["systemctl", `--root=${ctx.root}`, ...args];
  }

  /** sd_booted(): systemd runs this host (and we are not applying to another root). */
  private live(ctx: ToolContext): boolean {
    return ctx.root === "/" && existsSync("/run/systemd/system");
  }

  cannotControl(ctx: ToolContext): string | undefined {
    if (ctx.root !== "/") return `applying under --root ${ctx.root}`;
    if (!this.live(ctx)) return "systemd is not running on this host";
    return undefined;
  }

  async control(name: string, action: "restart" | "stop", ctx: ToolContext): Promise<boolean> {
    return (await ctx.exec(this.systemctl(ctx, [action, name]))).code === 0;
  }

  /**
   * `systemctl is-enabled A B …` for the services about to be verified. systemctl stops at the first
   * unit it does not know, so a unit with no file in the root's unit directories (its package not
   * installed yet, on a first run) is asked about in a run of its own, beside the run for the others;
   * which unit systemctl knows is still its answer alone.
   */
  async prepare(entries: XmlElement[], ctx: ToolContext): Promise<void> {
    this.enabled.clear();
    const names = entries.map((e) => serviceEntry(e)).filter((s) => s.status !== "ignore").map((s) => s.name);
    const alone: string[] = [];
    for (const n of names.filter((n) => !unitFileThere(ctx.root, n))) {
      // nothing anywhere systemctl would look: its answer is known without starting it
      if (unknownToSystemctl(ctx.root, n)) this.enabled.set(n, { state: "", ok: false, err: `Failed to get unit file state for ${unitName(n)}: No such file or directory` });
      else alone.push(n);
    }
    await Promise.all([this.askEnabled(names.filter((n) => !alone.includes(n) && !this.enabled.has(n)), ctx), ...alone.map((n) => this.askEnabled([n], ctx))]);
  }

  /** is-enabled for `names`, in as few runs as it takes: each unit systemctl does not know costs one more run (for the rest). */
  private async askEnabled(names: string[], ctx: ToolContext): Promise<void> {
    let rest = names;
    while (rest.length) {
      const r = await ctx.exec(this.systemctl(ctx, ["is-enabled", ...rest]));
      const states = r.stdout.split("\n").filter(Boolean);
      const err = r.stderr.trim();
      if (!err || states.length >= rest.length) {
        rest.forEach((name, i) => states[i] !== undefined && this.enabled.set(name, { state: states[i]!.trim(), ok: true, err: "" }));
        return;
      }
      // the states printed belong to the names before the unit it stopped at, whose error stderr holds
      states.forEach((st, i) => this.enabled.set(rest[i]!, { state: st.trim(), ok: true, err: "" }));
      this.enabled.set(rest[states.length]!, { state: "", ok: false, err });
      rest = rest.slice(states.length + 1);
    }
  }

  /** `systemctl is-enabled NAME`: its state word (from prepare when asked there), exit code and error. */
  private async isEnabled(name: string, ctx: ToolContext): Promise<{ state: string; ok: boolean; err: string }> {
    const known = this.enabled.get(name);
    if (known !== undefined) {
      this.enabled.delete(name);
      return known;
    }
    const en = await ctx.exec(this.systemctl(ctx, ["is-enabled", name]));
    return { state: en.stdout.trim(), ok: en.code === 0, err: en.stderr.trim() };
  }

  async verify(entry: XmlElement, ctx: ToolContext): Promise<boolean> {
    const s = serviceEntry(entry);
    if (s.status === "ignore") return true;
    const en = await this.isEnabled(s.name, ctx);
    const state = en.state;
    if (!en.ok && !["disabled", "masked", "static", "indirect", "linked"].includes(state)) {
      ctx.log.info(`Service ${s.name}: ${en.err || "unit not found"}`);
    }
    let on = state === "enabled" || state === "enabled-runtime" || state === "alias";
    if (this.live(ctx)) {
      const act = await ctx.exec(this.systemctl(ctx, ["is-active", s.name]));
      const active = act.stdout.trim() === "active";
      on = s.status === "on" ? on && active : on || active;
    }
    entry.attrs.target_status = s.status;
    entry.attrs.current_status = on ? "on" : "off";
    const ok = (s.status === "on") === on;
    if (ok) {
      delete entry.attrs.target_status;
      delete entry.attrs.current_status;
    }
    return ok;
  }

  async install(entries: XmlElement[], ctx: ToolContext): Promise<States> {
    const states: States = new Map();
    const todo: XmlElement[] = [];
    for (const e of entries) {
      const s = serviceEntry(e);
      if (e.attrs.install === "false" || s.status === "ignore") states.set(e, s.status === "ignore");
      else todo.push(e);
    }
    // Units systemctl enabled saying nothing but the links it made: it made each one's [Install]
    // links (or found them made), and `is-enabled` would say "enabled"; not asked again (upstream's
    // client takes the enable's exit status alone). Any other word (no [Install] section: "static";
    // a SysV script synchronized) and the unit is asked.
    const enabled: string[] = [];
    for (const verb of ["enable", "disable"] as const) {
      const names = todo.map((e) => serviceEntry(e)).filter((s) => (s.status === "on") === (verb === "enable")).map((s) => s.name);
      if (!names.length) continue;
      // with no manager to reload, a plain enable is made here as systemctl would make it
      const links = verb === "enable" && !this.live(ctx) ? plainEnableLinks(ctx.root, names.map(unitName)) : undefined;
      if (links) {
        makeUnitLinks(ctx.root, links);
        for (const l of links) ctx.log.debug(`Systemd: created symlink ${l.link} → ${l.target}`);
        enabled.push(...names);
        continue;
      }
      const clean = (r: { code: number; stderr: string }, done: string[]) => {
        if (verb === "enable" && r.code === 0 && r.stderr.split("\n").every((l) => !l.trim() || LINK_MADE.test(l))) enabled.push(...done);
      };
      // one systemctl for all of them; when that fails (one unknown unit fails the lot), each on its own for its own error
      if (names.length > 1) {
        const r = await ctx.exec(this.systemctl(ctx, [verb, ...names]));
        if (r.code === 0) {
          clean(r, names);
          continue;
        }
      }
      for (const name of names) {
        const r = await ctx.exec(this.systemctl(ctx, [verb, name]));
        if (r.code !== 0) ctx.log.error(`Systemd: ${verb} ${name} failed: ${r.stderr.trim()}`);
        else clean(r, [name]);
      }
    }
    if (this.live(ctx)) {
      for (const e of todo) {
        const s = serviceEntry(e);
        const r = await ctx.exec(this.systemctl(ctx, [s.status === "on" ? "start" : "stop", s.name]));
        if (r.code !== 0) ctx.log.error(`Systemd: ${s.status === "on" ? "start" : "stop"} ${s.name} failed: ${r.stderr.trim()}`);
        else if (s.status === "on") this.restarted.add(s.name); // just started: no restart needed this run
      }
    }
    await this.prepare(todo.filter((e) => !enabled.includes(serviceEntry(e).name)), ctx);
    for (const name of enabled) this.enabled.set(name, { state: "enabled", ok: true, err: "" });
    for (const e of todo) states.set(e, await this.verify(e, ctx));
    return states;
  }

  /**
   * Enabled units the configuration does not name, as upstream's Systemd.FindExtra finds them: the
   * links in /etc/systemd/system/*.wants/ (what `systemctl enable` makes), read in-process. Asking
   * systemctl (list-unit-files) walks every unit search path for every unit: seconds on a full root.
   */
  async findExtra(managed: XmlElement[], ctx: ToolContext): Promise<XmlElement[]> {
    const names = new Set(managed.map((e) => e.attrs.name ?? "").flatMap((n) => [n, `${n}.service`]));
    const dir = inRoot(ctx.root, "/etc/systemd/system");
    const found = new Set<string>();
    for (const wants of readdirOrEmpty(dir).filter((d) => d.endsWith(".wants"))) {
      for (const unit of readdirOrEmpty(join(dir, wants))) if (!names.has(unit)) found.add(unit);
    }
    return [...found].sort().map((n) => el("Service", { name: n, type: "systemd" }));
  }

  async remove(extras: XmlElement[], ctx: ToolContext): Promise<void> {
    for (const e of extras) {
      const r = await ctx.exec(this.systemctl(ctx, ["disable", e.attrs.name ?? ""]));
      if (r.code !== 0) ctx.log.error(`Systemd: disable ${e.attrs.name} failed: ${r.stderr.trim()}`);
      if (this.live(ctx)) await ctx.exec(this.systemctl(ctx, ["stop", e.attrs.name ?? ""]));
    }
  }

  bundleUpdated(bundle: XmlElement, ctx: ToolContext): Promise<States> {
    return restartBundleServices(this, bundle, ctx, this.restarted);
  }
}

const UNIT_SUFFIX = /\.(service|socket|device|mount|automount|swap|target|path|timer|snapshot|slice|scope)$/;

/** The unit a Service entry's name stands for: itself with a unit type's suffix, else NAME.service. */
const unitName = (name: string) => (UNIT_SUFFIX.test(name) ? name : `${name}.service`);

/** Whether a file (or link) named for the unit, or for its template, is anywhere on systemd's unit search path in the root. */
function unitFileThere(root: string, name: string): boolean {
  const unit = unitName(name);
  const template = unit.replace(/@[^.]*\./, "@.");
  return UNIT_SEARCH_PATH.some((d) => [unit, template].some((u) => lstatSync(inRoot(root, `${d}/${u}`), { throwIfNoEntry: false }) !== undefined));
}

/**
 * Whether systemctl is-enabled can only say a unit with no file on the search path (unitFileThere)
 * has none: a plain unit name (systemctl judges others), no SYSTEMD_UNIT_PATH adding directories,
 * and no SysV script of the name (which it asks systemd-sysv-install about).
 */
function unknownToSystemctl(root: string, name: string): boolean {
  if (process.env.SYSTEMD_UNIT_PATH !== undefined || !/^[A-Za-z0-9:_.@-]+$/.test(name)) return false;
  return lstatSync(inRoot(root, `/etc/init.d/${unitName(name).replace(/\.service$/, "")}`), { throwIfNoEntry: false }) === undefined;
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
