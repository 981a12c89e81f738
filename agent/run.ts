// The run sequence, as the upstream Bcfg2 client runs it: AssertProfile → DeclareVersion →
// GetProbes → probes → RecvProbeData → GetDecisionList → GetConfig → inventory → decide →
// install → remove → re-inventory → RecvStats. Exit 0 finished, 1 fatal, 2 RecvStats failed,
// 3 (only with --exit-dirty) finished but not clean.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseConfiguration, type Configuration } from "../protocol/documents/configuration.js";
import { parseProbes, serializeProbeData, type ProbeDataItem } from "../protocol/documents/probes.js";
import { el, type XmlElement } from "../protocol/xml.js";
import { loadAccounts, type AccountDb } from "./accounts.js";
import { writeFileAtomic } from "../lib/atomic-file.js";
import { contextProbeData } from "./context-probe.js";
import { matchesDecision, parseDecisionList, type Decision } from "./decisions.js";
import { execCommand } from "./exec.js";
import type { Logger } from "./log.js";
import type { AgentOptions } from "./options.js";
import { agentRunLockBase, takePidLock } from "./pid-lock.js";
import { runProbe } from "./probes.js";
import { XmlRpcProxy } from "./proxy.js";
import { entryDiff, explainEntry } from "./explain.js";
import { buildStatistics, displayState, entryLabel } from "./report.js";
import { ActionTool } from "./tools/action.js";
import { AptTool } from "./tools/apt.js";
import { PosixTool } from "./tools/posix.js";
import { PosixUsersTool } from "./tools/posix-users.js";
import { SystemdTool } from "./tools/systemd.js";
import { SysvTool } from "./tools/sysv.js";
import type { States, Tool, ToolContext } from "./tools/tool.js";

/** The protocol version declared to the server (the Bcfg2 release whose wire format we speak). */
export const DECLARED_VERSION = "1.4.0pre2";

export interface RunResult {
  exitCode: number;
  states: Map<XmlElement, boolean>;
  modified: XmlElement[];
  extra: XmlElement[];
  /** The statistics document that was (or, with -f, would have been) sent. */
  statistics: string;
}

class Fatal extends Error {}

/** The exit code with --exit-dirty when the run finished but entries are still bad (or would change, with -n). */
export const EXIT_DIRTY = 3;

/** The tools, in the order upstream loads them (users before files: files may name new owners). */
export function defaultTools(): Tool[] {
  return [new PosixUsersTool(), new PosixTool(), new AptTool(), new SystemdTool(), new SysvTool(), new ActionTool()];
}

function clearCurrent(e: XmlElement): void {
  for (const k of Object.keys(e.attrs)) if (k.startsWith("current_") || k === "target_status") delete e.attrs[k];
}

export async function runAgent(o: AgentOptions, log: Logger, tools: Tool[] = defaultTools()): Promise<RunResult> {
  const times: Record<string, number> = {};
  const now = () => Date.now() / 1000;
  times.start = now();
  log.info(`Starting vacfg agent run at ${times.start}`);
  let proxy: XmlRpcProxy | undefined;
  let rl: ReturnType<typeof createInterface> | undefined;
  let unlockRun: (() => void) | undefined;
  const fatal = (msg: string): never => {
    log.error(`Fatal error: ${msg}`);
    throw new Fatal(msg);
  };
  try {
    // ---- download -------------------------------------------------------------------------
    let raw: string;
    let decisions: Decision[] = [];
    if (o.file) {
      try {
        raw = readFileSync(o.file, "utf8");
      } catch (e) {
        return fatal(`Failed to read cached configuration from: ${o.file}: ${(e as Error).message}`);
      }
    } else {
      try {
        proxy = new XmlRpcProxy({ url: o.server, user: o.user, password: o.password, ca: o.ca, insecure: o.insecure, cert: o.cert, key: o.key, retries: o.retries, retryDelayMs: o.retryDelayMs, timeoutMs: o.timeoutMs, log });
      } catch (e) {
        return fatal((e as Error).message);
      }
      const p = proxy;
      const call = async (what: string, method: string, ...args: Parameters<XmlRpcProxy["call"]>[1][]) => {
        try {
          return await p.call(method, ...args);
        } catch (e) {
          return fatal(`${what}: ${(e as Error).message}`);
        }
      };
      if (o.profile) await call("Failed to set client profile", "AssertProfile", o.profile);
      await call("Failed to declare version", "DeclareVersion", DECLARED_VERSION);
      const probesXml = await call("Failed to download probes from the server", "GetProbes");
      let probes;
      try {
        probes = parseProbes(String(probesXml));
      } catch (e) {
        return fatal(`Server returned invalid probe requests: ${(e as Error).message}`);
      }
      times.probe_download = now();
      const items: ProbeDataItem[] = [];
      // The built-in context probe speaks for vacfg-context. When the repository also has a probe
      // of that name (it can only read a copy of the parameters), the agent's data answers it
      // under that probe's source, so the server files it where templates read it.
      // The CA (--ca) the server was checked with is the site CA an https parameter location uses too.
      const ctxItem = await contextProbeData(o.root, log, o.ca ? readFileSync(o.ca, "utf8") : undefined);
      if (ctxItem) items.push(ctxItem);
      for (const probe of probes) {
        if (ctxItem && probe.name === ctxItem.name) {
          ctxItem.source = probe.source;
          continue;
        }
        const r = await runProbe(probe, o.probeTimeoutMs, log, o.root);
        if (r.failure) {
          if (o.exitOnProbeFailure) fatal(`Failed to execute probe ${probe.name}: ${r.failure}`);
          log.error(`Failed to execute probe ${probe.name}: ${r.failure}`);
        }
        items.push(r.item);
      }
      if (items.length) await call("Failed to upload probe data", "RecvProbeData", serializeProbeData(items));
      times.probe_upload = now();
      if (o.decision === "whitelist" || o.decision === "blacklist") {
        decisions = parseDecisionList(await call("Failed to get decision list", "GetDecisionList", o.decision));
        log.info(`Got decision list from server: ${JSON.stringify(decisions)}`);
      }
      const cfg = await call("Failed to download configuration from the server", "GetConfig");
      if (typeof cfg !== "string") fatal("GetConfig did not return a string");
      raw = cfg as string;
      times.config_download = now();
    }
    if (o.cache) {
      try {
        writeFileAtomic(o.cache, raw, { mode: 0o600 });
      } catch (e) {
        log.warn(`Failed to write config cache file ${o.cache}: ${(e as Error).message}`);
      }
      times.caching = now();
    }
    let config: Configuration;
    try {
      config = parseConfiguration(raw);
    } catch (e) {
      return fatal(`The configuration could not be parsed: ${(e as Error).message}`);
    }
    times.config_parse = now();
    if (!o.noLock) {
      try {
        unlockRun = takePidLock(agentRunLockBase(o.root), 0);
      } catch (e) {
        return fatal(`Another instance of the agent is running for ${o.root} (${(e as Error).message}); -O bypasses the check`);
      }
    }

    // ---- context for the tools ----------------------------------------------------------
    let accounts: AccountDb = loadAccounts(o.root);
    const ctx: ToolContext = {
      root: o.root,
      dryRun: o.dryRun,
      interactive: o.interactive,
      quick: o.quick,
      paranoid: o.paranoid,
      paranoidPath: o.paranoidPath,
      paranoidCopies: o.paranoidCopies,
      log,
      accounts: () => accounts,
      reloadAccounts: () => {
        accounts = loadAccounts(o.root);
      },
      prompt: async (q) => {
        rl ??= createInterface({ input: process.stdin, output: process.stdout });
        const r = rl;
        return await new Promise<boolean>((resolve) => {
          r.once("close", () => resolve(false));
          r.question(q, (a) => resolve(/^y(es)?$/i.test(a.trim())));
        });
      },
      exec: (argv, opts) => execCommand(argv, opts),
    };

    const exec = new Execution(config, tools, ctx, o, decisions, log);
    await exec.execute(times);
    times.finished = now();
    displayState(log, "final", exec.states, exec.extra, o.showExtra);

    const statistics = buildStatistics({ states: exec.states, modified: exec.modified, extra: exec.extra, revision: config.revision, dryRun: o.dryRun, times });
    let exitCode = 0;
    if (o.statsFile) {
      try {
        writeFileAtomic(o.statsFile, statistics, { mode: 0o600 });
      } catch (e) {
        log.warn(`--stats-file ${o.statsFile}: ${(e as Error).message}`);
      }
    }
    const dirty = [...exec.states.values()].some((ok) => !ok);
    if (proxy) {
      try {
        await proxy.call("RecvStats", statistics);
        log.info(`Statistics accepted by the server (${exec.states.size} entries)`);
      } catch (e) {
        log.error(`Failed to upload configuration statistics: ${(e as Error).message}`);
        exitCode = 2;
      }
    }
    // Opt-in (--exit-dirty): a boot unit or script can tell "ran, but not clean" from "ran clean".
    if (o.exitDirty && exitCode === 0 && dirty) exitCode = EXIT_DIRTY;
    log.info(`Finished vacfg agent run at ${now()}`);
    return { exitCode, states: exec.states, modified: exec.modified, extra: exec.extra, statistics };
  } catch (e) {
    if (e instanceof Fatal) return { exitCode: 1, states: new Map(), modified: [], extra: [], statistics: "" };
    throw e;
  } finally {
    unlockRun?.();
    proxy?.close();
    rl?.close();
  }
}

/** One configuration applied: the states of its entries, what was modified, what is extra. */
class Execution {
  readonly states = new Map<XmlElement, boolean>();
  readonly modified: XmlElement[] = [];
  extra: XmlElement[] = [];
  /** Which tool reported each extra entry. */
  private readonly foundBy = new Map<XmlElement, Tool>();
  private readonly bundles: XmlElement[];
  private readonly owner = new Map<XmlElement, Tool>();
  private readonly bundleOf = new Map<XmlElement, XmlElement>();

  constructor(
    config: Configuration,
    private readonly tools: Tool[],
    private readonly ctx: ToolContext,
    private readonly o: AgentOptions,
    private readonly decisions: Decision[],
    private readonly log: Logger,
  ) {
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

  private async inventory(entries: XmlElement[] = this.entries): Promise<void> {
    for (const e of entries) {
      clearCurrent(e);
      this.states.set(e, await this.verify(e));
    }
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

  /** Hands entries to their tools; successful installs become modified. */
  private async dispatchInstall(entries: XmlElement[]): Promise<void> {
    for (const t of this.tools) {
      const mine = entries.filter((e) => this.owner.get(e) === t && !e.attrs.failure);
      if (!mine.length) continue;
      let states: States;
      try {
        states = await t.install(mine, this.ctx);
      } catch (err) {
        this.log.error(`${t.name}.install failed: ${(err as Error).message}`);
        continue;
      }
      for (const [e, ok] of states) {
        this.states.set(e, ok);
        if (ok && !this.modified.includes(e)) this.modified.push(e);
      }
    }
  }

  private inSelectedBundle(e: XmlElement): boolean {
    const b = this.bundleOf.get(e);
    return !this.o.bundles.length || (!!b && this.o.bundles.includes(b.attrs.name ?? ""));
  }

  async execute(times: Record<string, number>): Promise<void> {
    const o = this.o;
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
    await this.dispatchInstall(whitelist);
    const mbundles = this.bundles.filter((b) => b.tag === "Bundle" && b.children.some((e) => this.modified.includes(e)));
    if (mbundles.length) {
      this.log.info(`The following bundles have been modified: ${mbundles.map((b) => b.attrs.name).join(" ")}`);
      // an entry of a modified bundle that another install clobbered is installed again
      const bundleEntries = mbundles.flatMap((b) => b.children).filter((e) => e.tag !== "Action");
      await this.inventory(bundleEntries);
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
        for (const t of this.tools) if (t.bundleUpdated) this.merge(await this.safe(() => t.bundleUpdated!(b, this.ctx), `${t.name}.bundleUpdated(${b.attrs.name})`));
      }
      pending = this.bundles.filter((b) => b.tag === "Bundle" && !done.has(b) && b.children.some((e) => this.modified.includes(e)));
    }
    for (const b of this.bundles) {
      if (done.has(b) || (b.tag === "Bundle" && o.bundles.length && !o.bundles.includes(b.attrs.name ?? ""))) continue;
      for (const t of this.tools) if (t.bundleNotUpdated) this.merge(await this.safe(() => t.bundleNotUpdated!(b, this.ctx), `${t.name}.bundleNotUpdated(${b.attrs.name ?? b.tag})`));
    }
    times.install = Date.now() / 1000;

    // ---- remove --------------------------------------------------------------------------
    for (const t of this.tools) {
      if (!t.remove) continue;
      // An extra is removed by the tool that found it (never looked up by the tool's name).
      const mine = removal.filter((x) => (this.foundBy.get(x) ?? this.tools.find((u) => u.handles(x))) === t);
      if (!mine.length) continue;
      await this.safe(async () => {
        await t.remove!(mine, this.ctx);
        return new Map();
      }, `${t.name}.remove`);
    }
    times.remove = Date.now() / 1000;

    // ---- re-inventory when something changed --------------------------------------------
    if (this.modified.length || removal.length) {
      this.log.info("Rechecking system inventory");
      const actionStates = new Map([...this.states].filter(([e]) => e.tag === "Action"));
      await this.inventory(this.entries.filter((e) => e.tag !== "Action"));
      for (const [e, v] of actionStates) this.states.set(e, v);
      await this.findExtra();
      times.reinventory = Date.now() / 1000;
    }
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

