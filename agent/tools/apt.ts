// The Debian package tool: reads <root>/var/lib/dpkg/status, verifies versions (auto|any|exact)
// and, unless -q, the md5sums dpkg recorded; installs and removes with apt-get, into the root
// (chroot when the root has apt, else the host's apt-get pointed at the root's state).
// version="auto" means the candidate apt would install (upstream's client): before the first such
// check, and again before installing, the root's package lists are refreshed (apt-get update) when
// an archive changed since they were fetched (apt-lists.ts asks, in-process), never in a dry run,
// so a version the archive published since is an upgrade and an unchanged archive costs no apt-get.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { packageEntry } from "../../protocol/entries.js";
import { el, type XmlElement } from "../../protocol/xml.js";
import { chrootArgv, inRoot } from "../root.js";
import { aptReads, changesAptReads, configFilesSignature, GATE_FD, GATE_HOOK, GATE_OPTIONS, gateRefusal, onlyListsChanged, readHostPaths } from "./apt-early.js";
import { aheadDump, architecturesConfig, CLEAR_PRE_INSTALL_HOOKS, configSignature, fileStamp, HOOKS_DUMP, hookDump, preInstallHooksNeeded, type HookCheck, type HookDump } from "./apt-hooks.js";
import { staleListsReason } from "./apt-lists.js";
import type { AheadContext, ExecResult, StagedInstall, States, Tool, ToolContext } from "./tool.js";

/** What one apt-get install asks for (AptTool.plan). */
interface InstallPlan {
  specs: string[];
  /** Packages asked for by name alone: apt installs their candidate. */
  names: string[];
  /** apt-get's arguments; undefined when there is nothing to install. */
  args: string[] | undefined;
}

export interface InstalledPackage {
  name: string;
  version: string;
  arch: string;
}

/**
 * Installed packages from a dpkg status file (only "install ok installed" stanzas). Read on every
 * run, before apt-get starts and again after it (130 KB on a small Debian system): each line is
 * looked at by its first bytes, and only the four fields used here are taken.
 */
export function parseDpkgStatus(text: string): Map<string, InstalledPackage> {
  const out = new Map<string, InstalledPackage>();
  for (const stanza of text.split(/\n\s*\n/)) {
    let name: string | undefined;
    let status = "";
    let version = "";
    let arch = "";
    for (let at = 0; at < stanza.length; ) {
      const end = stanza.indexOf("\n", at) >>> 0; // -1 (the last line) → past the end
      const line = stanza.slice(at, Math.min(end, stanza.length));
      at = end + 1;
      const colon = line.indexOf(":");
      if (colon < 1) continue;
      const field = line.slice(0, colon);
      if (field !== "Package" && field !== "Status" && field !== "Version" && field !== "Architecture") continue;
      const value = line.slice(colon + 1).trimStart();
      if (field === "Package") name = value;
      else if (field === "Status") status = value;
      else if (field === "Version") version = value;
      else arch = value;
    }
    if (!name || !/\binstalled$/.test(status) || !status.includes("ok")) continue;
    out.set(name, { name, version, arch });
  }
  return out;
}

/** `apt-cache policy` output → package → candidate version (absent when apt has none). */
export function parseAptPolicy(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^(\S+?):\n\s+Installed: .*\n\s+Candidate: (.*)$/gm)) {
    if (m[2] !== "(none)") out.set(m[1].split(":")[0], m[2]); // "name:i386" for a foreign architecture
  }
  return out;
}

/** inode, size and times of the root's dpkg status file, or "-" when it is missing. */
function statusStamp(root: string): string {
  const st = statSync(inRoot(root, "/var/lib/dpkg/status"), { bigint: true, throwIfNoEntry: false });
  return st ? fileStamp(st) : "-";
}

const APT_ENV = { DEBIAN_FRONTEND: "noninteractive" };
/** The environment every apt program the tool runs gets (and its hooks see). */
const aptEnv = (): NodeJS.ProcessEnv => ({ ...process.env, ...APT_ENV });

/**
 * apt-get's options for an unattended run. Dpkg::Use-Pty=0: dpkg's output goes straight to our
 * pipe instead of through a pseudo-terminal apt relays (nobody watches it; a chroot often has no
 * /dev/pts, where apt tries, fails and says so on every run). xz's -1: every install and removal
 * writes the planner's input to /var/log/apt/eipp.log.xz (a debugging dump of tens of kilobytes)
 * with xz's default -6, whose encoder sets up about 94 MiB (30 ms of CPU, a seventh of a small
 * install); -1 writes the same log, a few per cent bigger, in a millisecond. apt-get compresses
 * nothing else.
 */
const APT_GET_OPTIONS = ["-q", "-y", "-o", "DPkg::Options::=--force-confold", "-o", "DPkg::Options::=--force-confdef", "-o", "Dpkg::Use-Pty=0", "-o", "APT::Compressor::xz::CompressArg::=-1"];

export class AptTool implements Tool {
  readonly name = "APT";
  private installed?: Map<string, InstalledPackage>;
  /** `installed` was read ahead, from the status file so stamped (statusStamp): checked at its first use. */
  private installedAhead?: { stamp: string };
  /** Candidate versions apt reports for installed packages, since the last index refresh. */
  private candidates = new Map<string, string | undefined>();
  /** The last refresh of the lists (refreshIndexes), which the checks of version="auto" wait for. */
  private refreshing?: Promise<boolean>;
  /** apt's hook list, asked while the run talked to the server. */
  private hooksAhead?: HookDump;
  /**
   * Found from that list meanwhile: what apt-get reads before dpkg and whether its lists are stale,
   * with the signature of apt's and dpkg's configuration files (and lists) they were found under.
   * Taken by the first begin().
   */
  private readsAhead?: Promise<{ dump: ExecResult; files: string; reads: string[]; lists?: { stale: string | undefined } } | undefined>;

  handles(entry: XmlElement): boolean {
    return (entry.tag === "Package" || entry.tag === "BoundPackage") && (entry.attrs.type === "deb" || entry.attrs.type === "apt");
  }

  private db(ctx: Pick<ToolContext, "root">): Map<string, InstalledPackage> {
    // read ahead (while the run talked to the server): kept if the file is the one read then
    if (this.installedAhead && this.installedAhead.stamp !== statusStamp(ctx.root)) this.installed = undefined;
    this.installedAhead = undefined;
    if (!this.installed) {
      const p = inRoot(ctx.root, "/var/lib/dpkg/status");
      this.installed = existsSync(p) ? parseDpkgStatus(readFileSync(p, "utf8")) : new Map();
    }
    return this.installed;
  }

  /** Files whose md5 differs from what dpkg recorded (conffiles are not in md5sums). */
  private badFiles(pkg: InstalledPackage, ctx: ToolContext): string[] {
    const info = inRoot(ctx.root, "/var/lib/dpkg/info");
    const list = [`${info}/${pkg.name}.md5sums`, `${info}/${pkg.name}:${pkg.arch}.md5sums`].find((p) => existsSync(p));
    if (!list) return [];
    const bad: string[] = [];
    for (const line of readFileSync(list, "utf8").split("\n")) {
      const m = /^([0-9a-f]{32})\s+(.+)$/.exec(line);
      if (!m) continue;
      const file = inRoot(ctx.root, "/" + m[2]);
      try {
        if (createHash("md5").update(readFileSync(file)).digest("hex") !== m[1]) bad.push("/" + m[2]);
      } catch {
        bad.push("/" + m[2]);
      }
    }
    return bad;
  }

  async verify(entry: XmlElement, ctx: ToolContext): Promise<boolean> {
    const p = packageEntry(entry);
    const have = this.db(ctx).get(p.name);
    if (!have) {
      entry.attrs.current_exists = "false";
      return false;
    }
    const wanted = p.instances[0]?.version ?? p.version;
    if (wanted !== "auto" && wanted !== "any" && wanted !== have.version) {
      entry.attrs.current_version = have.version;
      return false;
    }
    if (wanted === "auto") {
      await (this.refreshing ??= this.refreshIndexes(ctx));
      const candidate = await this.candidate(p.name, ctx);
      if (candidate !== undefined && candidate !== have.version) {
        entry.attrs.current_version = have.version;
        return false;
      }
    }
    if (!ctx.quick) {
      const bad = this.badFiles(have, ctx);
      if (bad.length) {
        ctx.log.info(`Package ${p.name}: ${bad.length} file(s) fail their dpkg checksum: ${bad.slice(0, 5).join(" ")}`);
        entry.attrs.current_modified_files = bad.join(" ");
        return false;
      }
    }
    return true;
  }

  /** Whether `program` runs chrooted into the root (the root has it), not the host's aimed at the root. */
  private chrooted(ctx: Pick<ToolContext, "root">, program = "apt-get"): boolean {
    return ctx.root !== "/" && existsSync(inRoot(ctx.root, `/usr/bin/${program}`));
  }

  /** apt-get argv for this root: chroot into it when it has apt, else aim the host's apt at it. */
  aptArgv(ctx: Pick<ToolContext, "root">, args: string[], program = "apt-get"): string[] {
    const base = program === "apt-get" ? APT_GET_OPTIONS : [];
    if (ctx.root === "/") return [program, ...base, ...args];
    if (this.chrooted(ctx, program)) return chrootArgv(ctx.root, [program, ...base, ...args]);
    const r = ctx.root;
    return [program, ...base, "-o", `Dir=${r}`, "-o", `Dir::State::status=${r}/var/lib/dpkg/status`, "-o", `DPkg::Options::=--root=${r}`, "-o", "Dir::Bin::dpkg=/usr/bin/dpkg", ...args];
  }

  /** Whether apt-get runs in the system it changes (chrooted into the root, or the live system), so the root's hooks are the ones it runs. */
  private inSystem(ctx: Pick<ToolContext, "root">): boolean {
    return ctx.root === "/" || this.chrooted(ctx);
  }

  /** What decides apt-get's hooks in this root: apt-config's dump, asked once (or the one asked ahead). */
  private hookCheck(ctx: Pick<ToolContext, "root" | "exec">): HookCheck {
    const env = aptEnv();
    return { root: ctx.root, env, aptConfig: (a) => ctx.exec(this.aptArgv(ctx, a, "apt-config"), { env }), ahead: this.hooksAhead };
  }

  ahead(ctx: AheadContext): void {
    if (ctx.dryRun || !this.inSystem(ctx)) return;
    const env = aptEnv();
    const signature = configSignature(ctx.root, env); // before apt-config reads the files
    if (signature === undefined) return;
    const result = ctx.exec(this.aptArgv(ctx, HOOKS_DUMP, "apt-config"), { env });
    this.hooksAhead = { signature, result };
    // and what begin() needs that no configuration changes, while the run waits for the server
    // (idle: this thread's part, a few ms with the first calls' cold code, while it has nothing else to do)
    this.readsAhead = Promise.all([result, ctx.idle])
      .then(async ([dump]) => {
        if (dump.code !== 0) return undefined;
        const files = configFilesSignature(ctx.root, dump.stdout);
        // the dump holds for the files so signed if apt's configuration is still as apt-config read it
        if ((await aheadDump(this.hooksAhead, ctx.root, env)) !== dump) return undefined;
        const reads = await aptReads(ctx.root, dump.stdout);
        // dpkg's status too, read before apt-get starts (knownBad) and the inventory
        this.readStatusAhead(ctx);
        // the lists' staleness too, unless finding it asks an archive over the network (a run may not need it)
        return { dump, files, reads: reads.paths, lists: reads.network ? undefined : { stale: await this.staleReason(ctx) } };
      })
      .catch(() => undefined);
  }

  /** Reads dpkg's status file now, stamped, for the run's first look at it (db). */
  private readStatusAhead(ctx: Pick<ToolContext, "root">): void {
    if (this.installed) return;
    try {
      const stamp = statusStamp(ctx.root);
      this.db(ctx);
      this.installedAhead = { stamp };
    } catch {
      this.installed = undefined; // read at first use, and its error met there
    }
  }

  /**
   * apt-get argv for a run that installs or removes, and what to clean up after it. Where apt-get
   * runs in the system it changes (chrooted, or the live system) and its only DPkg::Pre-Install-Pkgs
   * hook is debconf's without apt-utils, which does nothing (apt-hooks.ts), a -c file clears it,
   * and names the architectures apt-config found, so apt-get asks dpkg for them no more (no hook
   * is left to be handed the configuration that then holds them).
   */
  async changeArgv(ctx: Pick<ToolContext, "root" | "exec" | "log">, args: string[], check = this.hookCheck(ctx), options: string[] = []): Promise<{ argv: string[]; done(): void }> {
    const none = { argv: this.aptArgv(ctx, [...options, ...args]), done: () => {} };
    if (!this.inSystem(ctx)) return none; // the host's apt aimed at the root runs the host's hooks
    const why = await preInstallHooksNeeded(check);
    if (why) {
      ctx.log.debug(`APT: DPkg::Pre-Install-Pkgs hooks run: ${why}`);
      return none;
    }
    // the file apt-get reads: in the root's /tmp (resolved as a chroot would) or the host's
    const base = ctx.root === "/" ? tmpdir() : inRoot(ctx.root, "/tmp");
    let dir: string;
    try {
      dir = mkdtempSync(join(base, "vacfg-apt-"));
      writeFileSync(join(dir, "apt.conf"), CLEAR_PRE_INSTALL_HOOKS + architecturesConfig((await hookDump(check)).stdout));
    } catch (e) {
      ctx.log.debug(`APT: DPkg::Pre-Install-Pkgs hooks run: no file for apt-get in ${base}: ${(e as Error).message}`);
      return none;
    }
    const seen = ctx.root === "/" ? join(dir, "apt.conf") : "/" + posix.relative(ctx.root, join(dir, "apt.conf"));
    ctx.log.debug("APT: debconf's dpkg-preconfigure would do nothing (no apt-utils): not run");
    return { argv: this.aptArgv(ctx, ["-c", seen, ...options, ...args]), done: () => rmSync(dir, { recursive: true, force: true }) };
  }

  /**
   * apt-get update for the root when an archive changed (never in a dry run: it changes the
   * machine's package lists); whether it ran. `known`: the staleness found ahead, still true (nothing it was found from changed since).
   */
  private async refreshIndexes(ctx: ToolContext, known?: { stale: string | undefined }): Promise<boolean> {
    if (ctx.dryRun) return false;
    const stale = known ? known.stale : await this.staleReason(ctx);
    if (stale === undefined) {
      ctx.log.debug("APT: the package lists are as new as their archives: no apt-get update");
      return false;
    }
    ctx.log.debug(`APT: apt-get update: ${stale}`);
    this.candidates.clear();
    const r = await ctx.exec(this.aptArgv(ctx, ["update"]), { env: aptEnv() });
    if (r.code !== 0) ctx.log.error(`APT: apt-get update failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
    return true;
  }

  /** Why the root's lists are older than their archives (apt-lists.ts), or undefined when they are not. */
  private staleReason(ctx: Pick<ToolContext, "root">): Promise<string | undefined> {
    // file: sources are read by apt inside the root when it runs chrooted, else on the host
    const chrooted = this.chrooted(ctx);
    return staleListsReason({
      etcApt: inRoot(ctx.root, "/etc/apt"),
      listsDir: inRoot(ctx.root, "/var/lib/apt/lists"),
      filePath: (p) => (chrooted ? inRoot(ctx.root, p) : p),
    });
  }

  /** The version apt would install now; asked once for every installed package at a time (one apt-cache run). */
  private async candidate(name: string, ctx: ToolContext): Promise<string | undefined> {
    if (!this.candidates.has(name)) {
      const names = [...new Set([name, ...this.db(ctx).keys()])].filter((n) => !this.candidates.has(n));
      const r = await ctx.exec(this.aptArgv(ctx, ["policy", ...names], "apt-cache"), { env: aptEnv() });
      if (r.code !== 0) ctx.log.error(`APT: apt-cache policy failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
      const found = parseAptPolicy(r.stdout);
      for (const n of names) this.candidates.set(n, found.get(n));
    }
    return this.candidates.get(name);
  }

  /** apt-get's arguments installing `entries` (undefined when there is nothing to ask apt for), and the names asked for alone. */
  private plan(entries: XmlElement[]): InstallPlan {
    const specs: string[] = [];
    /** Packages asked for by name alone: apt installs their candidate. */
    const names: string[] = [];
    let reinstall = false;
    for (const e of entries) {
      const p = packageEntry(e);
      const v = p.instances[0]?.version ?? p.version;
      if (v === "auto" || v === "any") names.push(p.name);
      specs.push(v === "auto" || v === "any" ? p.name : `${p.name}=${v}`);
      if (e.attrs.current_modified_files) reinstall = true;
    }
    return { specs, names, args: specs.length ? [...(reinstall ? ["--reinstall"] : []), "install", ...specs] : undefined };
  }

  async install(entries: XmlElement[], ctx: ToolContext): Promise<States> {
    const plan = this.plan(entries);
    let r: ExecResult | undefined;
    if (plan.args) {
      // The sources list may have just been written (Packages' apt_config is an important file).
      await (this.refreshing = this.refreshIndexes(ctx));
      const run = await this.changeArgv(ctx, plan.args);
      r = await ctx.exec(run.argv, { env: aptEnv() }).finally(() => run.done());
    }
    return this.settle(entries, plan, r, ctx);
  }

  /**
   * apt-get starts at once and resolves, fetches and plans while the tools before this one install
   * `earlier`; it runs dpkg only once finish() is called (apt-early.ts). Only where none of `earlier`
   * is something apt-get reads before dpkg, and no site DPkg::Pre-Invoke hook would run first.
   */
  async begin(entries: XmlElement[], earlier: XmlElement[], ctx: ToolContext): Promise<StagedInstall | undefined> {
    const plan = this.plan(entries);
    if (!plan.args || !this.inSystem(ctx)) return undefined;
    const check = this.hookCheck(ctx);
    // What was found while the run talked to the server is used as found, without looking again:
    // finish() compares the signature taken then, so a change since stops apt-get before dpkg, and
    // it runs again. Once: a later begin (after one stopped) looks again.
    const found = await this.readsAhead;
    this.readsAhead = undefined;
    if (found) check.dump = Promise.resolve(found.dump);
    const dump = await hookDump(check);
    let signature = found?.files ?? configFilesSignature(ctx.root, dump.stdout);
    // their host paths resolved now (symbolic links as they are when apt-get starts)
    const why = gateRefusal(dump, check.env) ?? changesAptReads(ctx.root, earlier, readHostPaths(ctx.root, found?.reads ?? (await aptReads(ctx.root, dump.stdout)).paths));
    if (why) {
      ctx.log.debug(`APT: apt-get starts after the entries before it: ${why}`);
      return undefined;
    }
    if (await (this.refreshing = this.refreshIndexes(ctx, found?.lists))) {
      // apt-get update wrote the lists: what finish() compares with is taken again, if nothing else changed
      const updated = configFilesSignature(ctx.root, dump.stdout);
      if (!onlyListsChanged(signature, updated)) {
        ctx.log.debug("APT: apt-get starts after the entries before it: apt's configuration changed while the run talked to the server");
        return undefined;
      }
      signature = updated;
    }
    const run = await this.changeArgv(ctx, plan.args, check, GATE_OPTIONS);
    let open!: (go: boolean) => void;
    const go = new Promise<boolean>((resolve) => (open = resolve));
    const result = ctx.exec(run.argv, { env: check.env, later: { fd: GATE_FD, text: go.then((ok) => (ok ? "go\n" : "stop\n")) } }).finally(() => run.done());
    ctx.log.debug("APT: apt-get started; dpkg waits until the entries before it are installed");
    return {
      cancel: async () => {
        open(false);
        await result;
      },
      finish: async () => {
        const same = configFilesSignature(ctx.root, dump.stdout) === signature;
        open(same);
        const r = await result;
        if (!same) ctx.log.debug("APT: apt's configuration changed while apt-get waited before dpkg: it stopped there; run again");
        // an apt whose hooks cannot read the pipe fails there too, before dpkg
        else if (r.code !== 0 && r.stderr.includes(GATE_HOOK)) ctx.log.debug("APT: apt-get's hook could not read the agent's pipe: run again without it");
        else return this.settle(entries, plan, r, ctx);
        return this.install(entries, ctx);
      },
    };
  }

  knownBad(entries: XmlElement[], ctx: ToolContext): XmlElement[] {
    return entries.filter((e) => !this.db(ctx).has(packageEntry(e).name));
  }

  /** After apt-get (r; none when there was nothing to ask for): the entries verified again. */
  private async settle(entries: XmlElement[], plan: InstallPlan, r: ExecResult | undefined, ctx: ToolContext): Promise<States> {
    if (r) {
      this.installed = undefined;
      if (r.code !== 0) ctx.log.error(`APT: apt-get install ${plan.specs.join(" ")} failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
      // `apt-get install NAME` installed NAME's candidate: that stays the candidate until the lists
      // change, so the verify below asks apt-cache nothing about the packages just installed.
      else for (const n of plan.names) if (this.db(ctx).has(n)) this.candidates.set(n, this.db(ctx).get(n)!.version);
    }
    const states: States = new Map();
    for (const e of entries) {
      for (const k of Object.keys(e.attrs)) if (k.startsWith("current_")) delete e.attrs[k];
      states.set(e, await this.verify(e, ctx));
    }
    return states;
  }

  async findExtra(managed: XmlElement[], ctx: ToolContext): Promise<XmlElement[]> {
    const names = new Set(managed.map((e) => e.attrs.name));
    return [...this.db(ctx).values()].filter((p) => !names.has(p.name)).map((p) => el("Package", { name: p.name, type: "deb", current_version: p.version }));
  }

  async remove(extras: XmlElement[], ctx: ToolContext): Promise<void> {
    const names = extras.map((e) => e.attrs.name!).filter(Boolean);
    if (!names.length) return;
    const run = await this.changeArgv(ctx, ["remove", ...names]);
    const r = await ctx.exec(run.argv, { env: aptEnv() }).finally(() => run.done());
    if (r.code !== 0) ctx.log.error(`APT: apt-get remove ${names.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
    this.installed = undefined;
  }
}
