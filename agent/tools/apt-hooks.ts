// Whether apt's DPkg::Pre-Install-Pkgs hooks would do nothing in this root, so apt-get may be told
// to skip them. Only one case qualifies: the list is exactly debconf's own entry (70debconf:
// `/usr/sbin/dpkg-preconfigure --apt || true`), the script is a debconf release read here, and
// apt-utils (apt-extracttemplates) is absent. That script then, before any other effect, reads
// debconf's configuration and databases, prints "delaying package configuration, since apt-utils is
// not installed" and exits: the questions are asked by the packages' own maintainer scripts, as they
// would be anyway. It still costs a perl start-up and a load of debconf's databases (~55 ms of CPU,
// a quarter of a small install). Any other hook (apt-listbugs, etckeeper, a site's own), another
// debconf, apt-utils, a debconf environment variable or a missing debconf database keeps the list.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, type BigIntStats } from "node:fs";
import { posix } from "node:path";
import { inRoot } from "../root.js";
import type { ExecResult } from "./tool.js";

/** debconf's hook line, as its 70debconf writes it. */
export const DEBCONF_HOOK = "/usr/sbin/dpkg-preconfigure --apt || true";

/**
 * sha256 of the dpkg-preconfigure scripts read for this (debconf 1.5.82, Debian 12; 1.5.91, Debian
 * 13). In both, what runs before the apt-extracttemplates check has no effect but a database file
 * created when debconf.conf names one that is missing (checked below), and a lock while loading.
 */
const KNOWN_PRECONFIGURE = new Set([
  "557485d11a8ff37fc59614628d135302114e4f8712caf341e8d63c4802c591e9",
  "39577985ac160864db65d2efe65e411941010fd3facb5c6e07e9c5da26998fea",
]);

/** apt's config text clearing the list (read after apt.conf.d when given with -c). */
export const CLEAR_PRE_INSTALL_HOOKS = "#clear DPkg::Pre-Install-Pkgs;\n";

/** `apt-config dump` output in the format HOOKS_DUMP asks for: [tag, value] pairs, values %-decoded as apt escapes them. */
export function parseDump(dump: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of dump.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab < 0) continue;
    let value = line.slice(tab + 1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // not UTF-8: kept as printed, which matches no known hook
    }
    out.push([line.slice(0, tab), value]);
  }
  return out;
}

/** The items of the list `name` (apt's keys are case-insensitive): only its own items run (pkgDPkgPM::RunScripts), empty ones are skipped. */
export function dumpItems(dump: string, name: string): string[] {
  const item = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}::[^:]*$`, "i");
  return parseDump(dump).filter(([tag, value]) => item.test(tag) && value).map(([, value]) => value);
}

/** The value of one key of the dump (exactly as printed), or undefined. */
export function dumpValue(dump: string, tag: string): string | undefined {
  return parseDump(dump).find(([t]) => t === tag)?.[1];
}

/** The hooks of `apt-config dump` output in the format HOOKS_DUMP asks for. */
export function parsePreInstallHooks(dump: string): string[] {
  return dumpItems(dump, "DPkg::Pre-Install-Pkgs");
}

/**
 * apt-config arguments printing DPkg::Pre-Install-Pkgs and DPkg::Pre-Invoke with their items, apt's
 * directories (Dir, where it read its configuration among them), the architectures apt uses (which
 * apt-config works out as apt-get does, asking dpkg for the foreign ones) and dpkg's options, as
 * "TAG<TAB>VALUE" lines.
 */
export const HOOKS_DUMP = ["-o", "APT::Config::Dump::Format=%f%N%V%n", "dump", "DPkg::Pre-Install-Pkgs", "DPkg::Pre-Invoke", "Dir", "APT::Architectures", "DPkg::Options"];

/**
 * apt's hook list as apt-config prints it, asked ahead (while the run talks to the server)
 * and used at install time only while apt's configuration files are as they were when it was
 * asked: their signature (`configSignature`) is taken before apt-config runs.
 */
export interface HookDump {
  signature: string | undefined;
  result: Promise<ExecResult>;
}

/** A file's inode, size and times (ns): what the agent's signatures of apt's and dpkg's files compare. */
export function fileStamp(st: BigIntStats): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/**
 * inode, size and times of apt's configuration files (apt.conf and each entry of apt.conf.d, in
 * the root) as apt reads them by default, and of what dpkg's foreign architectures come from (its
 * configuration files and its arch file); undefined where that is not where apt reads them.
 */
export function configSignature(root: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.APT_CONFIG) return undefined;
  const sig = (p: string) => {
    try {
      return `${p}:${fileStamp(statSync(inRoot(root, p), { bigint: true }))}`;
    } catch {
      return `${p}:-`;
    }
  };
  const dir = (d: string) => {
    let parts: string[] = [];
    try {
      parts = readdirSync(inRoot(root, d)).sort();
    } catch {
      // none
    }
    return [sig(d), ...parts.map((n) => sig(`${d}/${n}`))];
  };
  return [sig("/etc/apt/apt.conf"), ...dir("/etc/apt/apt.conf.d"), sig("/etc/dpkg/dpkg.cfg"), ...dir("/etc/dpkg/dpkg.cfg.d"), sig(DPKG_ARCH_FILE)].join("\n");
}

/** Where dpkg keeps the architectures added with --add-architecture (its default admin directory). */
const DPKG_ARCH_FILE = "/var/lib/dpkg/arch";

/**
 * apt's configuration naming the architectures of the dump (`APT::Architectures`, as apt-config
 * worked them out: APT::Architecture first, then dpkg's foreign ones, in apt-get's order), so that
 * apt-get asks dpkg for none (--print-foreign-architectures: two runs before dpkg and three after,
 * while it rebuilds its cache). Empty where dpkg's state or programs are not the default ones
 * configSignature watches, or a name is not an architecture's.
 */
export function architecturesConfig(dump: string): string {
  const archs = dumpItems(dump, "APT::Architectures");
  if (!archs.length || !archs.every((a) => /^[a-z0-9][a-z0-9-]*$/.test(a))) return "";
  if (dumpValue(dump, "Dir::State::status") !== "/var/lib/dpkg/status" || dumpValue(dump, "Dir::Bin::dpkg") !== "/usr/bin/dpkg") return "";
  if (dumpItems(dump, "DPkg::Options").some((opt) => /admindir|root|instdir/.test(opt))) return "";
  return `#clear APT::Architectures;\nAPT::Architectures {${archs.map((a) => ` "${a}";`).join("")} };\n`;
}

export interface HookCheck {
  /** The root as the hooks see it (apt-get runs in it: chrooted, or the live system). */
  root: string;
  /** The environment apt-get (and so the hook) gets. */
  env: NodeJS.ProcessEnv;
  /** Runs `apt-config ARGS` as apt-get would run in the root. */
  aptConfig(args: string[]): Promise<ExecResult>;
  /** The dump asked ahead, if any: used when apt's configuration files have not changed since. */
  ahead?: HookDump;
  /** The dump this check uses, once asked (hookDump). */
  dump?: Promise<ExecResult>;
}

/** The dump asked ahead, if it still holds: apt-config succeeded, read the files configSignature covers, and they are as they were when it was asked. */
export async function aheadDump(ahead: HookDump | undefined, root: string, env: NodeJS.ProcessEnv): Promise<ExecResult | undefined> {
  if (ahead?.signature === undefined || ahead.signature !== configSignature(root, env)) return undefined;
  const dump = await ahead.result;
  return dump.code === 0 && defaultConfigPlaces(dump.stdout) ? dump : undefined;
}

/** The dump (HOOKS_DUMP) for this check: the one asked ahead while apt's configuration files are as they were then, else asked now; once. */
export function hookDump(c: HookCheck): Promise<ExecResult> {
  c.dump ??= (async () => (await aheadDump(c.ahead, c.root, c.env)) ?? (await c.aptConfig(HOOKS_DUMP)))();
  return c.dump;
}

/** Why the root's Pre-Install-Pkgs hooks must run, or undefined when they provably do nothing. */
export async function preInstallHooksNeeded(c: HookCheck): Promise<string | undefined> {
  for (const k of Object.keys(c.env)) if (k.startsWith("DEBCONF_") || k === "DPKG_ROOT") return `${k} is set`;
  const script = readOrUndefined(inRoot(c.root, "/usr/sbin/dpkg-preconfigure"));
  if (!script) return "no /usr/sbin/dpkg-preconfigure";
  if (!KNOWN_PRECONFIGURE.has(createHash("sha256").update(script).digest("hex"))) return "dpkg-preconfigure is not a debconf release read for this";
  // dpkg-preconfigure looks in /usr/lib/apt (debconf 1.5.91) and every directory of PATH
  const path = (c.env.PATH ?? "").split(":");
  if (path.some((d) => !d.startsWith("/"))) return "PATH has a relative directory";
  for (const d of ["/usr/lib/apt", ...path]) if (existsSync(inRoot(c.root, posix.join(d, "apt-extracttemplates")))) return "apt-utils is installed";
  const conf = debconfDatabasesMissing(c.root);
  if (conf) return conf;
  const r = await hookDump(c);
  if (r.code !== 0) return `apt-config failed (exit ${r.code})`;
  const hooks = parsePreInstallHooks(r.stdout);
  if (hooks.length !== 1 || hooks[0] !== DEBCONF_HOOK) return `DPkg::Pre-Install-Pkgs is ${JSON.stringify(hooks)}`;
  return undefined;
}

/** Whether the dump says apt read /etc/apt/apt.conf and /etc/apt/apt.conf.d (what configSignature covers). */
function defaultConfigPlaces(dump: string): boolean {
  const lines = new Set(dump.split("\n"));
  return lines.has("Dir\t/") && (lines.has("Dir::Etc\tetc/apt") || lines.has("Dir::Etc\tetc/apt/")) && lines.has("Dir::Etc::main\tapt.conf") && lines.has("Dir::Etc::parts\tapt.conf.d");
}

/** Why loading debconf's databases could write (a file its configuration names is missing), or undefined. */
function debconfDatabasesMissing(root: string): string | undefined {
  // debconf reads the first of ~root/.debconfrc, /etc/debconf.conf, /usr/share/debconf/debconf.conf
  const passwd = readOrUndefined(inRoot(root, "/etc/passwd"))?.toString("utf8") ?? "";
  const home = /^[^:\n]*:[^:\n]*:0:[^:\n]*:[^:\n]*:([^:\n]*):/m.exec(passwd)?.[1] || "/root";
  if (existsSync(inRoot(root, posix.join(home, ".debconfrc")))) return `${home}/.debconfrc exists`;
  const conf = readOrUndefined(inRoot(root, "/etc/debconf.conf"));
  if (!conf) return "no /etc/debconf.conf";
  for (const m of conf.toString("utf8").matchAll(/^\s*Filename:\s*(\S+)/gim)) {
    if (!existsSync(inRoot(root, m[1]!))) return `debconf database ${m[1]} is missing`;
  }
  return undefined;
}

function readOrUndefined(p: string): Buffer | undefined {
  try {
    return readFileSync(p);
  } catch {
    return undefined;
  }
}
