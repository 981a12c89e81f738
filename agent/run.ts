// The run sequence, as the upstream Bcfg2 client runs it: AssertProfile → DeclareVersion →
// GetProbes → probes → RecvProbeData → GetDecisionList → GetConfig → inventory → decide →
// install → remove → re-inventory → RecvStats; but DeclareVersion goes after GetProbes, beside the
// probes (its answer awaited before GetConfig). Exit 0 finished, 1 fatal, 2 RecvStats failed,
// 3 (only with --exit-dirty) finished but not clean.
import { readFileSync } from "node:fs";
import type { Interface } from "node:readline";
import { parseConfiguration, type Configuration } from "../protocol/documents/configuration.js";
import { parseProbes, serializeProbeData, type ProbeDataItem } from "../protocol/documents/probes.js";
import type { XmlElement } from "../protocol/xml.js";
import type { XmlRpcValue } from "../protocol/xmlrpc/values.js";
import { loadAccounts, type AccountDb } from "./accounts.js";
import { writeFileAtomic } from "../lib/atomic-file.js";
import { contextProbeData } from "./context-probe.js";
import { parseDecisionList, type Decision } from "./decisions.js";
import { execCommand, nextTurn } from "./exec.js";
import type { Logger } from "./log.js";
import type { AgentOptions } from "./options.js";
import { agentRunLockBase, takePidLock } from "./pid-lock.js";
import { ProbeScratch } from "./probes.js";
import { RootSync } from "./root-sync.js";
import { XmlRpcProxy } from "./proxy.js";
import { buildStatistics, displayState } from "./report.js";
import { ActionTool } from "./tools/action.js";
import { AptTool } from "./tools/apt.js";
import { PosixTool } from "./tools/posix.js";
import { PosixUsersTool } from "./tools/posix-users.js";
import { SystemdTool } from "./tools/systemd.js";
import { SysvTool } from "./tools/sysv.js";
import type { Tool, ToolContext } from "./tools/tool.js";
import { Execution } from "./execution.js";

/** How long RecvStats' connection, opened as the run's last steps begin, waits for it (below upstream's 10 s idle timeout). */
const LAST_STEPS_MS = 3000;

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

/** Whom the run talks to: the XML-RPC proxy, or (--local) the server core in process. */
export interface ServerConnection {
  call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue>;
  /** The next `calls` calls (default 1) follow soon: open their connections now if they will need new ones, closed unused after `within` ms if given (proxy.ts). */
  preconnect?(calls?: number, within?: number): void;
  /** Resolved once the first connection's handshake is done (the first request then goes out); never rejected. */
  readonly secured?: Promise<void>;
  close(): void | Promise<void>;
}

/**
 * Opens the in-process server for --local. The agent cannot import the server (agent/README.md),
 * so the vacfg command, which composes both, passes it in; the stand-alone agent has none.
 */
export type LocalServerOpener = (o: AgentOptions & { local: string }, log: Logger) => Promise<ServerConnection>;

export async function runAgent(o: AgentOptions, log: Logger, tools: Tool[] = defaultTools(), openLocal?: LocalServerOpener): Promise<RunResult> {
  const times: Record<string, number> = {};
  const now = () => Date.now() / 1000;
  times.start = now();
  log.info(`Starting vacfg agent run at ${times.start}`);
  let proxy: ServerConnection | undefined;
  let rl: Interface | undefined;
  let unlockRun: (() => void) | undefined;
  /** The run returned (a fatal error can end it before the tools asked ahead). */
  let ended = false;
  /** The probes' scratch directory removed and the root's /tmp times put back (done beside the calls that follow the probes). */
  let scratchClosed: Promise<void> | undefined;
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
      if (o.local !== undefined && !openLocal) fatal("--local needs the vacfg command (`vacfg agent --local REPO`) or the vacfg-agent package (`vacfg-agent --local REPO`): the stand-alone agent carries no server core");
      try {
        if (o.local !== undefined) proxy = await openLocal!({ ...o, local: o.local }, log);
        else proxy = new XmlRpcProxy({ url: o.server, user: o.user, password: o.password, ca: o.ca, insecure: o.insecure, cert: o.cert, key: o.key, retries: o.retries, retryDelayMs: o.retryDelayMs, timeoutMs: o.timeoutMs, log });
      } catch (e) {
        return fatal((e as Error).message);
      }
      const p = proxy;
      /** GetConfig asked: the run only waits for the server (the tools' AheadContext.idle). */
      let idle!: () => void;
      const waiting = new Promise<void>((resolve) => (idle = resolve));
      const call = async (what: string, method: string, ...args: XmlRpcValue[]) => {
        try {
          return await p.call(method, ...args);
        } catch (e) {
          return fatal(`${what}: ${(e as Error).message}`);
        }
      };
      /** call, when `follows` calls (known now) come after it: their connections are opened meanwhile. */
      const callBefore = (follows: number, what: string, method: string, ...args: XmlRpcValue[]) => {
        const answer = call(what, method, ...args);
        p.preconnect?.(follows);
        return answer;
      };
      // What the tools can ask ahead they ask while the run talks to the server, once the first
      // request is on its way (its connection's handshake done, where there is one), a turn of the
      // loop later: the connections opened ahead at that handshake send their hellos first. A
      // program started (apt-config) holds this thread for a fork, which then delays no handshake
      // (upstream's server makes them in its one accepting thread, waiting on each client).
      void (p.secured ?? Promise.resolve()).then(nextTurn).then(() =>
        setImmediate(() => {
          if (!ended) for (const t of tools) t.ahead?.({ root: o.root, dryRun: o.dryRun, exec: execCommand, idle: waiting });
        }),
      );
      // The calls known to follow (DeclareVersion, GetDecisionList with -l, GetConfig; RecvProbeData
      // once the probes are known) have their connections opened while the server answers, where it
      // takes one per call (the first answer's headers tell).
      const decisionList = o.decision === "whitelist" || o.decision === "blacklist" ? 1 : 0;
      if (o.profile) await callBefore(3 + decisionList, "Failed to set client profile", "AssertProfile", o.profile);
      const probesXml = await callBefore(2 + decisionList, "Failed to download probes from the server", "GetProbes");
      let probes;
      try {
        probes = parseProbes(String(probesXml));
      } catch (e) {
        return fatal(`Server returned invalid probe requests: ${(e as Error).message}`);
      }
      times.probe_download = now();
      // The version is declared while the probes run, not before GetProbes as upstream's client does:
      // the server has the client by now (a new one is registered by GetProbes, never by two calls at
      // once), and GetConfig, whose build may read the version, goes once the answer has come.
      // With probes, their data (RecvProbeData) is one more call to come.
      const declared = callBefore((probes.length ? 2 : 1) + decisionList, "Failed to declare version", "DeclareVersion", DECLARED_VERSION);
      declared.catch(() => {}); // met (fatal) where it is awaited, before GetConfig
      // a turn of the loop: a connection just opened sends its hello before the probes' work holds this thread
      await nextTurn();
      const items: ProbeDataItem[] = [];
      // The built-in context probe speaks for vacfg-context. When the repository also has a probe
      // of that name (it can only read a copy of the parameters), the agent's data answers it
      // under that probe's source, so the server files it where templates read it.
      // The CA (--ca) the server was checked with is the site CA an https parameter location uses too.
      const ctxItem = await contextProbeData(o.root, log, o.ca ? readFileSync(o.ca, "utf8") : undefined);
      if (ctxItem) items.push(ctxItem);
      const theirs = probes.filter((probe) => {
        if (ctxItem && probe.name === ctxItem.name) ctxItem.source = probe.source;
        return probe.name !== ctxItem?.name;
      });
      const scratch = theirs.length ? ProbeScratch.open(o.root) : undefined;
      // once the probe data's request is written (setImmediate): the run goes on meanwhile
      const closeScratch = () =>
        (scratchClosed ??= new Promise<void>((written) => setImmediate(written))
          .then(() => scratch?.close())
          .catch((e: unknown) => void log.error(`Probe scratch directory: ${(e as Error).message}`)));
      try {
        // side by side, reported in the server's order (ProbeScratch.runAll)
        await scratch?.runAll(theirs, o.probeTimeoutMs, log, (probe, r) => {
          if (r.failure) {
            if (o.exitOnProbeFailure) fatal(`Failed to execute probe ${probe.name}: ${r.failure}`);
            log.error(`Failed to execute probe ${probe.name}: ${r.failure}`);
          }
          items.push(r.item);
        });
        // the data leaves first (the request is written in this turn's next ticks); the scratch
        // directory goes (and /tmp's times come back: a program started) while the server takes
        // it and then the configuration is asked for: it is waited for once that has come
        const sent = items.length ? callBefore(1 + decisionList, "Failed to upload probe data", "RecvProbeData", serializeProbeData(items)) : undefined;
        closeScratch();
        await sent;
      } finally {
        closeScratch();
      }
      await declared;
      times.probe_upload = now();
      if (decisionList) {
        decisions = parseDecisionList(await callBefore(1, "Failed to get decision list", "GetDecisionList", o.decision));
        log.info(`Got decision list from server: ${JSON.stringify(decisions)}`);
      }
      const asked = call("Failed to download configuration from the server", "GetConfig");
      idle();
      const cfg = await asked;
      await scratchClosed;
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
        // loaded on the first question: most runs ask none, and every module loaded costs start-up time
        rl ??= (await import("node:readline")).createInterface({ input: process.stdin, output: process.stdout });
        const r = rl;
        return await new Promise<boolean>((resolve) => {
          r.once("close", () => resolve(false));
          r.question(q, (a) => resolve(/^y(es)?$/i.test(a.trim())));
        });
      },
      exec: (argv, opts) => execCommand(argv, opts),
      rootSync: new RootSync(),
    };

    const exec = new Execution(config, tools, ctx, o, decisions, log);
    await exec.execute(times, {
      // RecvStats' connection opens as the last two install steps begin (usually the packages and
      // the services enabled after them: its handshake, 5-8 ms on upstream's server, is made while
      // dpkg runs), closed unused after a few seconds (a long install, restart or action: a server
      // may drop an idle connection, upstream's logs it) and opened again at the next of them (if
      // none is open), and then once the rest of the run only reads
      lastSteps: () => proxy?.preconnect?.(1, LAST_STEPS_MS),
      readsOnly: () => proxy?.preconnect?.(),
    });
    times.finished = now();
    displayState(log, "final", exec.states, exec.extra, o.showExtra);

    const statistics = buildStatistics({ states: exec.states, modified: exec.modified, extra: exec.extra, revision: config.revision, dryRun: o.dryRun, times });
    let exitCode = 0;
    // sent first: the copy is written while the server takes it
    const sent = proxy?.call("RecvStats", statistics);
    sent?.catch(() => {}); // met below
    if (o.statsFile) {
      try {
        writeFileAtomic(o.statsFile, statistics, { mode: 0o600 });
      } catch (e) {
        log.warn(`--stats-file ${o.statsFile}: ${(e as Error).message}`);
      }
    }
    const dirty = [...exec.states.values()].some((ok) => !ok);
    if (sent) {
      try {
        await sent;
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
    ended = true;
    await scratchClosed; // a fatal error after the probes: the scratch directory still goes first
    unlockRun?.();
    await proxy?.close();
    rl?.close();
  }
}

