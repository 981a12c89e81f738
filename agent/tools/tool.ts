// The one interface every entry family implements (inventory/verify, install, remove, extras),
// and the context a tool gets: the root, dry run, accounts, logging, prompting.
import type { XmlElement } from "../../protocol/xml.js";
import type { AccountDb } from "../accounts.js";
import type { Logger } from "../log.js";
import type { RootSync } from "../root-sync.js";

export interface ToolContext {
  /** "/" or the directory everything is applied under (--root). */
  root: string;
  dryRun: boolean;
  interactive: boolean;
  /** -q: skip expensive checks (package checksums). */
  quick: boolean;
  /** -P / [client] paranoid: back up files before replacing them (entries with paranoid="true"). */
  paranoid: boolean;
  /** Where paranoid backups go, as a client path (under root). */
  paranoidPath: string;
  paranoidCopies: number;
  log: Logger;
  accounts(): AccountDb;
  /** Re-reads the root's passwd/group after users changed. */
  reloadAccounts(): void;
  /** Asks the operator (interactive mode); resolves false on no/EOF. */
  prompt(question: string): Promise<boolean>;
  /** Where a tool that changed paths without fsyncing them says so: fsynced in the background, waited for before the run reports. */
  rootSync: RootSync;
  /** Runs a command, never through a shell unless argv says so. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
}

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  input?: string;
  /** A pipe the command reads as descriptor `fd` (3-9), given `text` once it resolves (lib/host-tools.ts). */
  later?: { fd: number; text: Promise<string> };
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Outcome of install: per entry, true when the entry is now correct. */
export type States = Map<XmlElement, boolean>;

/** An install begun early (Tool.begin). */
export interface StagedInstall {
  /** The tools before it are done: the install goes on; resolves as install() would. */
  finish(): Promise<States>;
  /** Not to go on (the run installs other entries, or none): stopped before it changed anything. */
  cancel(): Promise<void>;
}

/** What a tool asking ahead is given. */
export interface AheadContext extends Pick<ToolContext, "root" | "dryRun" | "exec"> {
  /**
   * Resolved once the run only waits for the server, with no connection of its own to answer
   * (GetConfig asked): work of this thread that can wait goes then, not while handshakes are under
   * way (upstream's server makes each in its one accepting thread, waiting on the client). Absent: now.
   */
  idle?: Promise<void>;
}

export interface Tool {
  readonly name: string;
  /** True when this tool manages the entry (tag and type). */
  handles(entry: XmlElement): boolean;
  /**
   * While the run talks to the server (nothing is known of the configuration yet): what the tool
   * may start asking ahead, reading only, for later use (apt's hook list, apt.ts).
   */
  ahead?(ctx: AheadContext): void;
  /**
   * Installing `entries` may begin while the tools before this one install `earlier`: the part that
   * only reads what those leave alone (apt-get's resolver and downloads) starts now, and what
   * changes the machine waits until finish() is called, once they are done. Undefined when it
   * cannot (install is then called as usual); never called in a dry run.
   */
  begin?(entries: XmlElement[], earlier: XmlElement[], ctx: ToolContext): Promise<StagedInstall | undefined>;
  /**
   * Of `entries`, those its verify will find bad whatever else the run finds, told before the
   * inventory from what it reads in-process (a package not installed at all): a tool that can
   * begin its install (begin) is then begun for them while the inventory runs.
   */
  knownBad?(entries: XmlElement[], ctx: ToolContext): XmlElement[];
  /** Before an inventory: the entries this tool is about to verify, to ask about them at once. */
  prepare?(entries: XmlElement[], ctx: ToolContext): Promise<void>;
  /** Checks one entry against the machine; records current_* attributes on it. */
  verify(entry: XmlElement, ctx: ToolContext): Promise<boolean>;
  /** Brings entries to their wanted state (never called in dry run). */
  install(entries: XmlElement[], ctx: ToolContext): Promise<States>;
  /** Things on the machine this tool would manage but the configuration does not name. */
  findExtra?(managed: XmlElement[], ctx: ToolContext): Promise<XmlElement[]>;
  /** Removes extra entries (-r). */
  remove?(extras: XmlElement[], ctx: ToolContext): Promise<void>;
  /** Called for each bundle in which something was modified (service restarts, post actions). */
  bundleUpdated?(bundle: XmlElement, ctx: ToolContext): Promise<States>;
  bundleNotUpdated?(bundle: XmlElement, ctx: ToolContext): Promise<States>;
}

