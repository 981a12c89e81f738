// Applying one configuration, as upstream's Frame does: inventory → decide (interactive, decision
// lists, bundle selection) → install (important first, pre actions, bundles, service restarts and
// post actions) → remove extras → re-inventory. The session (run.ts) hands it the configuration.
import type { Configuration } from "../protocol/documents/configuration.js";
import { el, type XmlElement } from "../protocol/xml.js";
import { matchesDecision, type Decision } from "./decisions.js";
import type { Logger } from "./log.js";
import type { AgentOptions } from "./options.js";
import { entryDiff, explainEntry } from "./explain.js";
import { displayState, entryLabel } from "./report.js";
import type { StagedInstall, States, Tool, ToolContext } from "./tools/tool.js";

/** Forgets what an earlier inventory recorded on an entry, so a re-inventory starts clean. */
function clearCurrent(e: XmlElement): void {
  for (const k of Object.keys(e.attrs)) if (k.startsWith("current_") || k === "target_status") delete e.attrs[k];
}


/** One configuration applied: the states of its entries, what was modified, what is extra. */
export class Execution {
  readonly states = new Map<XmlElement, boolean>();
  readonly modified: XmlElement[] = [];
  extra: XmlElement[] = [];
  /** Which tool reported each extra entry. */
  private readonly foundBy = new Map<XmlElement, Tool>();
  private readonly bundles: XmlElement[];
  private readonly owner = new Map<XmlElement, Tool>();
  private readonly bundleOf = new Map<XmlElement, XmlElement>();
  /**
   * Steps that may have changed the machine so far: each tool's install or remove, and each
   * after-install step (restarts, post actions) that ran a command. An entry verified since the
   * last of them (by an inventory, or by its own tool's install) is not verified again: the answer
   * would be the same, and asking costs a program run (systemctl, apt) per tool.
   */
  private changes = 0;
  private readonly verifiedAt = new Map<XmlElement, number>();
  /** Commands the tools have run (through ctx.exec), to tell an after-install step that changed nothing. */
  private commands = 0;
  private readonly ctx: ToolContext;
  /** An install begun before the inventory (beginEarly), until the install step takes or cancels it. */
  private early?: { tool: Tool; entries: XmlElement[]; staged: StagedInstall };

  constructor(
    config: Configuration,
    private readonly tools: Tool[],
    ctx: ToolContext,
    private readonly o: AgentOptions,
    private readonly decisions: Decision[],
    private readonly log: Logger,
  ) {
    this.ctx = { ...ctx, exec: (argv, opts) => (this.commands++, ctx.exec(argv, opts)) };
    this.bundles = config.bundles.map((b) => el("Bundle", { name: b.name }, b.entries));
    if (config.independent.length) this.bundles.push(el("Independent", {}, config.independent));
    for (const b of this.bundles) {
      for (const e of b.children) {
        this.bundleOf.set(e, b);
        const t = tools.find((x) => x.handles(e));
        if (t) this.owner.set(e, t);
      }
    }
    const unhandled = [...this.bundleOf.keys()].filter((e) => !this.owner.has(e) && !e.attrs.failure);
    if (unhandled.length) {
      log.error("The following entries are not handled by any tool:");
      for (const e of unhandled) log.error(`${e.tag}:${e.attrs.type ?? ""}:${e.attrs.name ?? ""}`);
    }
  }

  private get entries(): XmlElement[] {
    return [...this.bundleOf.keys()];
  }

  private async verify(e: XmlElement): Promise<boolean> {
    if (e.attrs.failure) {
      this.log.error(`${e.tag}:${e.attrs.name}: server could not bind it (bind failure: ${e.attrs.failure})`);
      return false;
    }
    const t = this.owner.get(e);
    if (!t) return false;
    try {
      return await t.verify(e, this.ctx);
    } catch (err) {
      this.log.error(`${t.name}: verifying ${e.tag}:${e.attrs.name} failed: ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * Verifies entries: each tool its own in order, the tools side by side (verifying only reads, and
   * the tools that ask a program, systemctl or apt-cache, then wait at the same time).
   */
  private async inventory(entries: XmlElement[] = this.entries): Promise<void> {
    const byTool = new Map<Tool | undefined, XmlElement[]>();
    for (const e of entries) {
      clearCurrent(e);
      const t = e.attrs.failure ? undefined : this.owner.get(e);
      byTool.set(t, [...(byTool.get(t) ?? []), e]);
    }
    const results = new Map<XmlElement, boolean>();
    await Promise.all(
      [...byTool].map(async ([t, mine]) => {
        if (t?.prepare) await t.prepare(mine, this.ctx).catch((err: Error) => this.log.debug(`${t.name}: ${err.message}`));
        for (const e of mine) results.set(e, await this.verify(e));
      }),
    );
    for (const e of entries) {
      this.states.set(e, results.get(e)!);
      this.verifiedAt.set(e, this.changes);
    }
  }

  /** Whether something may have changed since `e` was last verified. */
  private stale(e: XmlElement): boolean {
    return (this.verifiedAt.get(e) ?? -1) < this.changes;
  }

  private async findExtra(): Promise<void> {
    const extra: XmlElement[] = [];
    for (const t of this.tools) {
      if (!t.findExtra) continue;
      const managed = this.entries.filter((e) => this.owner.get(e) === t);
      try {
        const found = await t.findExtra(managed, this.ctx);
        for (const x of found) this.foundBy.set(x, t);
        extra.push(...found);
      } catch (err) {
        this.log.error(`${t.name}: finding extra entries failed: ${(err as Error).message}`);
      }
    }
    // an extra is only extra when no tool manages an entry of that name
    const managedKeys = new Set(this.entries.map((e) => `${e.tag}:${e.attrs.name}`));
    this.extra = extra.filter((x) => !managedKeys.has(`${x.tag}:${x.attrs.name}`));
  }

  /**
   * Before the inventory, a tool that can begin its install (apt-get) does so for the entries it
   * already knows are bad (packages not installed), while the inventory and the installs before it
   * run. Only where nothing but those installs runs before its turn: no dry run, no questions, no
   * decision list or bundle selection (its entries are then exactly the bad ones) and no pre action
   * (a command could change what it read). The install step takes it if it is given exactly those
   * entries, else cancels it (stopped before dpkg) and installs as usual.
   */
  private async beginEarly(): Promise<void> {
    const o = this.o;
    const pre = this.entries.some((e) => e.tag === "Action" && ["pre", "both"].includes(e.attrs.timing ?? "post"));
    if (o.dryRun || o.interactive || o.bundles.length || (!o.file && (o.decision === "whitelist" || o.decision === "blacklist")) || pre) return;
    for (const [i, t] of this.tools.entries()) {
      if (!t.begin || !t.knownBad) continue;
      const mine = this.entries.filter((e) => this.owner.get(e) === t && !e.attrs.failure);
      const entries = mine.length ? t.knownBad(mine, this.ctx) : [];
      if (!entries.length) continue;
      const before = this.tools.slice(0, i);
      const earlier = this.entries.filter((e) => before.includes(this.owner.get(e)!));
      const staged = await this.safeBegin(t, entries, earlier);
      if (staged) this.early = { tool: t, entries, staged };
      return; // one at a time: two would wait for each other's locks
    }
  }

  private async safeBegin(t: Tool, entries: XmlElement[], earlier: XmlElement[]): Promise<StagedInstall | undefined> {
    try {
      return await t.begin!(entries, earlier, this.ctx);
    } catch (err) {
      this.log.debug(`${t.name}: not begun early: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** The install begun before the inventory, if `t` is now to install exactly its entries; else it is cancelled. */
  private async takeEarly(t?: Tool, mine: XmlElement[] = []): Promise<StagedInstall | undefined> {
    const early = this.early;
    if (!early || (t && early.tool !== t)) return undefined;
    this.early = undefined;
    if (t && mine.length === early.entries.length && mine.every((e) => early.entries.includes(e))) return early.staged;
    this.log.debug(`${early.tool.name}: the install begun before the inventory is not the one to make: stopped`);
    await early.staged.cancel();
    return undefined;
  }

  /** Hands entries to their tools, tool by tool (`last` is called as each of the last two installs begins); successful installs become modified. */
  private async dispatchInstall(entries: XmlElement[], last?: () => void): Promise<void> {
    const work = this.tools.map((t) => ({ t, mine: entries.filter((e) => this.owner.get(e) === t && !e.attrs.failure) })).filter((w) => w.mine.length);
    // A tool that can begins its install while the tools before it install theirs (apt-get resolves
    // and fetches while files and users are written); what changes the machine still waits for them.
    const begun = new Map<Tool, StagedInstall>();
    for (let i = 0; i < work.length; i++) {
      const { t, mine } = work[i]!;
      const staged = (await this.takeEarly(t, mine)) ?? (i > 0 && t.begin && !this.ctx.dryRun ? await this.safeBegin(t, mine, work.slice(0, i).flatMap((w) => w.mine)) : undefined);
      if (staged) begun.set(t, staged);
    }
    try {
      for (const [i, { t, mine }] of work.entries()) {
        let states: States;
        this.changes++;
        if (i >= work.length - 2) last?.();
        // what the tools before this one changed is made durable while it installs (apt-get's dpkg)
        if (i > 0) this.ctx.rootSync.syncDirsNow();
        try {
          const staged = begun.get(t);
          begun.delete(t);
          states = await (staged?.finish() ?? t.install(mine, this.ctx));
        } catch (err) {
          this.log.error(`${t.name}.install failed: ${(err as Error).message}`);
          continue;
        }
        for (const [e, ok] of states) {
          this.states.set(e, ok);
          this.verifiedAt.set(e, this.changes); // a tool's install verifies what it installed
          if (ok && !this.modified.includes(e)) this.modified.push(e);
        }
      }
    } finally {
      // one begun and never finished waits for a word it would never get (and the run for it)
      for (const staged of begun.values()) await staged.cancel();
    }
  }

  private inSelectedBundle(e: XmlElement): boolean {
    const b = this.bundleOf.get(e);
    return !this.o.bundles.length || (!!b && this.o.bundles.includes(b.attrs.name ?? ""));
  }

  /**
   * `readsOnly` is called once, at the point from which the run changes nothing more; `lastSteps`
   * as the install step of each of the last two tools with entries to install begins (restarts,
   * actions and removals may still follow).
   */
  async execute(times: Record<string, number>, hooks: { readsOnly?: () => void; lastSteps?: () => void } = {}): Promise<void> {
    const readsOnly = hooks.readsOnly ?? (() => {});
    try {
      await this.apply(times, readsOnly, hooks.lastSteps);
    } finally {
      await this.takeEarly(); // begun before the inventory and not taken (the run ended before its turn): stopped
    }
  }

  private async apply(times: Record<string, number>, readsOnly: () => void, lastSteps?: () => void): Promise<void> {
    const o = this.o;
    if (o.dryRun) readsOnly();
    // first, alone: its few reads done at once, apt-get starts sooner than beside the inventory's work
    await this.beginEarly();
    await this.inventory();
    await this.findExtra();
    times.inventory = Date.now() / 1000;
    displayState(this.log, "initial", this.states, this.extra, false);
    this.explainBad();

    // ---- decide --------------------------------------------------------------------------
    let whitelist = this.entries.filter((e) => !this.states.get(e));
    if (!o.file && o.decision === "whitelist") whitelist = whitelist.filter((e) => matchesDecision(this.decisions, e.tag, e.attrs.name ?? ""));
    if (!o.file && o.decision === "blacklist") whitelist = whitelist.filter((e) => !matchesDecision(this.decisions, e.tag, e.attrs.name ?? ""));
    whitelist = whitelist.filter((e) => !e.attrs.failure && this.owner.has(e));
    let removal: XmlElement[] = [];
    if (o.remove === "all") removal = this.extra;
    else if (o.remove === "services") removal = this.extra.filter((e) => e.tag === "Service");
    else if (o.remove === "packages") removal = this.extra.filter((e) => e.tag === "Package");
    else if (o.remove === "users") removal = this.extra.filter((e) => e.tag === "POSIXUser" || e.tag === "POSIXGroup");

    if (o.dryRun) {
      if (whitelist.length) this.log.summary(`In dryrun mode: suppressing entry installation for:\n ${whitelist.map((e) => `${e.tag}:${e.attrs.name}`).join(" ")}`);
      if (removal.length) this.log.summary(`In dryrun mode: suppressing entry removal for:\n ${removal.map((e) => `${e.tag}:${e.attrs.name}`).join(" ")}`);
      times.install = times.remove = Date.now() / 1000;
      return;
    }
    for (const b of o.bundles) if (!this.bundles.some((x) => x.attrs.name === b)) this.log.info(`Warning: Bundle ${b} not found`);
    whitelist = whitelist.filter((e) => this.inSelectedBundle(e));

    // important files first (e.g. a resolv.conf that apt needs)
    const important = whitelist.filter((e) => e.tag === "Path" && e.attrs.type === "file" && e.attrs.important === "true");
    if (important.length) {
      const ok = o.interactive ? await this.promptFilter(important) : important;
      await this.dispatchInstall(ok);
      whitelist = whitelist.filter((e) => !important.includes(e));
    }

    // pre actions, per bundle: always, or when the bundle has something to change
    for (const b of this.bundles) {
      if (b.tag !== "Bundle" || (o.bundles.length && !o.bundles.includes(b.attrs.name ?? ""))) continue;
      const bmodified = b.children.some((e) => whitelist.includes(e) || this.modified.includes(e));
      let pre = b.children.filter((a) => a.tag === "Action" && ["pre", "both"].includes(a.attrs.timing ?? "post") && (bmodified || a.attrs.when === "always"));
      if (!pre.length) continue;
      if (o.interactive) pre = await this.promptFilter(pre);
      await this.dispatchInstall(pre);
      if (!pre.every((a) => this.states.get(a))) {
        this.log.info(`Bundle ${b.attrs.name} failed prerequisite action; not installing its entries`);
        whitelist = whitelist.filter((e) => this.bundleOf.get(e) !== b);
      }
    }
    whitelist = whitelist.filter((e) => e.tag !== "Action");
    if (o.interactive) {
      whitelist = await this.promptFilter(whitelist);
      removal = await this.promptFilter(removal, "Remove");
    }

    // ---- install -------------------------------------------------------------------------
    await this.dispatchInstall(whitelist, lastSteps);
    await this.takeEarly(); // not taken: nothing of that tool's was to be installed (stopped before it changes the machine)
    const mbundles = this.bundles.filter((b) => b.tag === "Bundle" && b.children.some((e) => this.modified.includes(e)));
    if (mbundles.length) {
      this.log.info(`The following bundles have been modified: ${mbundles.map((b) => b.attrs.name).join(" ")}`);
      // an entry of a modified bundle that another install clobbered is installed again (entries
      // verified after the last install, by their own tool's install, need no second look)
      const bundleEntries = mbundles.flatMap((b) => b.children).filter((e) => e.tag !== "Action");
      await this.inventory(bundleEntries.filter((e) => this.stale(e)));
      // (entries whose own install just failed are not clobbered: trying again would only repeat it)
      const clobbered = bundleEntries.filter((e) => !this.states.get(e) && this.modified.includes(e) && this.inSelectedBundle(e));
      if (clobbered.length && !o.interactive) await this.dispatchInstall(clobbered);
    }
    const done = new Set<XmlElement>();
    let pending = mbundles;
    while (pending.length) {
      for (const b of pending) {
        done.add(b);
        if (o.bundles.length && !o.bundles.includes(b.attrs.name ?? "")) continue;
        for (const t of this.tools) if (t.bundleUpdated) this.merge(await this.afterInstall(() => t.bundleUpdated!(b, this.ctx), `${t.name}.bundleUpdated(${b.attrs.name})`));
      }
      pending = this.bundles.filter((b) => b.tag === "Bundle" && !done.has(b) && b.children.some((e) => this.modified.includes(e)));
    }
    for (const b of this.bundles) {
      if (done.has(b) || (b.tag === "Bundle" && o.bundles.length && !o.bundles.includes(b.attrs.name ?? ""))) continue;
      for (const t of this.tools) if (t.bundleNotUpdated) this.merge(await this.afterInstall(() => t.bundleNotUpdated!(b, this.ctx), `${t.name}.bundleNotUpdated(${b.attrs.name ?? b.tag})`));
    }
    times.install = Date.now() / 1000;

    // ---- remove --------------------------------------------------------------------------
    for (const t of this.tools) {
      if (!t.remove) continue;
      // An extra is removed by the tool that found it (never looked up by the tool's name).
      const mine = removal.filter((x) => (this.foundBy.get(x) ?? this.tools.find((u) => u.handles(x))) === t);
      if (!mine.length) continue;
      this.changes++;
      await this.safe(async () => {
        await t.remove!(mine, this.ctx);
        return new Map();
      }, `${t.name}.remove`);
    }
    times.remove = Date.now() / 1000;
    readsOnly();

    // ---- durable before the run reports, beside the re-inventory (which only reads) ----------
    const synced = this.ctx.rootSync.flush().then((errors) => errors.forEach((e) => this.log.error(e)));

    // ---- re-inventory when something changed --------------------------------------------
    if (this.modified.length || removal.length) {
      this.log.info("Rechecking system inventory");
      const actionStates = new Map([...this.states].filter(([e]) => e.tag === "Action"));
      await this.inventory(this.entries.filter((e) => e.tag !== "Action" && this.stale(e)));
      for (const [e, v] of actionStates) this.states.set(e, v);
      await this.findExtra();
      times.reinventory = Date.now() / 1000;
    }
    await synced;
  }

  /** -v: why each bad entry is bad; -d: the diff of each bad file too. */
  private explainBad(): void {
    for (const [e, ok] of this.states) {
      if (ok) continue;
      const why = explainEntry(e, this.ctx.accounts());
      this.log.info(`${entryLabel(e)}: ${why.length ? why.join("; ") : "differs from the configuration"}`);
      const diff = entryDiff(e);
      if (diff) this.log.debug(`${entryLabel(e)} diff (current → wanted):\n${diff.replace(/\n$/, "")}`);
    }
  }

  private merge(states: States): void {
    for (const [e, v] of states) {
      this.states.set(e, v);
      if (v && !this.modified.includes(e)) this.modified.push(e);
    }
  }

  /** A restart or post-action step: a change unless it ran no command and reported nothing. */
  private async afterInstall(f: () => Promise<States>, what: string): Promise<States> {
    const before = this.commands;
    const states = await this.safe(f, what);
    if (this.commands !== before || states.size) this.changes++;
    return states;
  }

  private async safe(f: () => Promise<States>, what: string): Promise<States> {
    try {
      return await f();
    } catch (err) {
      this.log.error(`${what} failed: ${(err as Error).message}`);
      return new Map();
    }
  }

  private async promptFilter(entries: XmlElement[], verb = "Install"): Promise<XmlElement[]> {
    const out: XmlElement[] = [];
    for (const e of entries) if (await this.ctx.prompt(`${verb} ${e.tag}: ${e.attrs.name}? (y/N): `)) out.push(e);
    return out;
  }
}

