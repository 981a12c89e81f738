// The agent's settings: defaults, then the INI config file (/etc/vacfg.conf, bcfg2.conf's
// sections and keys), then the command line (bcfg2's option letters).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { VacfgError } from "../protocol/errors.js";
import { parseIni } from "../lib/ini.js";

export type RemoveMode = "all" | "services" | "packages" | "users";
export type DecisionMode = "whitelist" | "blacklist" | "none";

export interface AgentOptions {
  server: string;
  user: string;
  password: string;
  ca?: string;
  /** --insecure: talk to a server whose certificate is not checked (no CA). Off by default. */
  insecure: boolean;
  cert?: string;
  key?: string;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
  profile?: string;
  decision: DecisionMode;
  remove?: RemoveMode;
  /** -b: only entries of these bundles are installed. */
  bundles: string[];
  /** -f: run from this cached configuration instead of asking the server. */
  file?: string;
  /** --local REPO: no server; the configuration is rendered in process from this repository. */
  local?: string;
  /** -c: write the configuration received to this file. */
  cache?: string;
  dryRun: boolean;
  interactive: boolean;
  showExtra: boolean;
  quick: boolean;
  kevlar: boolean;
  paranoid: boolean;
  paranoidPath: string;
  paranoidCopies: number;
  exitOnProbeFailure: boolean;
  /** --exit-dirty / [client] exit_dirty: exit 3 when the run finished but is not clean. */
  exitDirty: boolean;
  probeTimeoutMs: number;
  /** -O: do not take the per-root run lock. */
  noLock: boolean;
  root: string;
  /** --stats-file: also write the statistics document here (for inspection and tests). */
  statsFile?: string;
  logLevel: "error" | "warn" | "info" | "debug";
  configFile: string;
}

export function defaultOptions(): AgentOptions {
  return {
    server: "https://localhost:6789",
    user: "root",
    password: "",
    insecure: false,
    retries: 3,
    retryDelayMs: 1000,
    timeoutMs: 90_000,
    decision: "none",
    bundles: [],
    dryRun: false,
    interactive: false,
    showExtra: false,
    quick: false,
    kevlar: false,
    paranoid: false,
    paranoidPath: "/var/cache/vacfg/paranoid",
    paranoidCopies: 1,
    exitOnProbeFailure: true,
    exitDirty: false,
    probeTimeoutMs: 60_000,
    root: "/",
    noLock: false,
    logLevel: "warn",
    configFile: "/etc/vacfg.conf",
  };
}

function bad(msg: string): never {
  throw new VacfgError("AGENT_CONFIG", msg);
}

function truthy(v: string): boolean {
  return ["1", "yes", "true", "on"].includes(v.trim().toLowerCase());
}

function num(v: string, where: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) bad(`${where}: "${v}" is not a non-negative number`);
  return n;
}

function decision(v: string, where: string): DecisionMode {
  if (v === "whitelist" || v === "blacklist" || v === "none") return v;
  return bad(`${where}: decision mode "${v}" is not whitelist, blacklist or none`);
}

function removeMode(v: string, where: string): RemoveMode {
  const m = v.toLowerCase();
  if (m === "all" || m === "services" || m === "packages" || m === "users") return m;
  return bad(`${where}: -r "${v}" is not all, services, packages or users`);
}

/** Applies an INI config file (missing default file is fine; a named one must exist). */
export function applyConfigFile(o: AgentOptions, path: string, mustExist: boolean): void {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (mustExist) bad(`${path}: ${(e as Error).message}`);
    return;
  }
  const ini = parseIni(text, path, "AGENT_CONFIG");
  const get = (s: string, k: string) => ini.get(s)?.get(k)?.value;
  const at = (s: string, k: string) => `${path} [${s}] ${k}`;
  const set = <K extends keyof AgentOptions>(key: K, s: string, k: string, conv: (v: string, where: string) => AgentOptions[K]) => {
    const v = get(s, k);
    if (v !== undefined) o[key] = conv(v, at(s, k));
  };
  const str = (v: string) => v;
  set("server", "components", "bcfg2", str);
  set("user", "communication", "user", str);
  set("password", "communication", "password", str);
  set("ca", "communication", "ca", str);
  set("cert", "communication", "certificate", str);
  set("key", "communication", "key", str);
  set("retries", "communication", "retries", num);
  set("retryDelayMs", "communication", "retry_delay", (v, w) => num(v, w) * 1000);
  set("timeoutMs", "communication", "timeout", (v, w) => num(v, w) * 1000);
  set("decision", "client", "decision", decision);
  set("paranoid", "client", "paranoid", truthy);
  set("exitOnProbeFailure", "client", "exit_on_probe_failure", truthy);
  set("exitDirty", "client", "exit_dirty", truthy);
  set("probeTimeoutMs", "client", "probe_timeout", (v, w) => num(v, w) * 1000);
  set("profile", "client", "profile", str);
  set("paranoidPath", "paranoid", "path", str);
  set("paranoidCopies", "paranoid", "max_copies", num);
}

export const USAGE = `usage: vacfg agent [options]
  -C FILE        config file (default /etc/vacfg.conf)
  -S URL         server URL (https://host:port)     -u USER   client name (default root)
  -x PASSWORD    password                            --ca FILE / --cert FILE / --key FILE
  --insecure     without a CA, talk to any server anyway (the password goes to whoever answers)
  -p PROFILE     assert this profile                 -l MODE   whitelist|blacklist|none
  -n             dry run                             -I        interactive
  -r MODE        remove extra all|services|packages|users
  -b A[:B...]    only install entries of these bundles
  -f FILE        run from a cached configuration     -c FILE   cache the configuration
  --local REPO   no server: render REPO (Bcfg2 layout) in process with the server's core, as client -u
                 (use -p PROFILE); needs the vacfg command, not the stand-alone agent
  -e             show extra entries                  -q        quick (no package checksums)
  -k             kevlar (keep going; re-inventory)   -P        paranoid backups
  -O             no run lock (another run may be going on)
  -R N / -y SEC  retries / delay between tries       -t SEC    request timeout
  --root DIR     apply everything under DIR instead of / (probes run chrooted into DIR: needs root)
  --stats-file F also write the statistics document to F
  --exit-dirty   exit 3 when the run finished but entries are still bad (with -n: would change)
  -v / -d        verbose (why each bad entry is bad) / debug (and the diff of each bad file)`;

/** Parses argv (without "agent") on top of defaults and the config file. */
export function parseAgentArgs(argv: string[]): AgentOptions | "help" {
  const o = defaultOptions();
  // the config file goes first, so the command line overrides it
  const ci = argv.findIndex((a) => a === "-C" || a === "--config");
  const explicitConfig = ci >= 0 ? argv[ci + 1] : undefined;
  if (ci >= 0 && explicitConfig === undefined) bad("-C needs a file");
  o.configFile = explicitConfig ?? o.configFile;
  applyConfigFile(o, o.configFile, explicitConfig !== undefined);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const val = () => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) bad(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "-h": case "--help": return "help";
      case "-C": case "--config": val(); break;
      case "-S": case "--server": o.server = val(); break;
      case "-u": case "--user": o.user = val(); break;
      case "-x": case "--password": o.password = val(); break;
      case "--ca": case "--ca-cert": o.ca = val(); break;
      case "--insecure": o.insecure = true; break;
      case "--cert": o.cert = val(); break;
      case "--key": o.key = val(); break;
      case "-p": case "--profile": o.profile = val(); break;
      case "-l": case "--decision": o.decision = decision(val(), flag); break;
      case "-r": case "--remove": o.remove = removeMode(val(), flag); break;
      case "-b": case "--bundle": o.bundles.push(...val().split(/[:,]/).filter(Boolean)); break;
      case "-f": case "--file": o.file = val(); break;
      case "--local": o.local = resolve(val()); break;
      case "-c": case "--cache": o.cache = val(); break;
      case "-n": case "--dry-run": o.dryRun = true; break;
      case "-I": case "--interactive": o.interactive = true; break;
      case "-e": case "--show-extra": o.showExtra = true; break;
      case "-q": case "--quick": o.quick = true; break;
      case "-k": case "--kevlar": o.kevlar = true; break;
      case "-P": case "--paranoid": o.paranoid = true; break;
      case "-R": case "--retries": o.retries = num(val(), flag); break;
      case "-y": case "--retry-delay": o.retryDelayMs = num(val(), flag) * 1000; break;
      case "-t": case "--timeout": o.timeoutMs = num(val(), flag) * 1000; break;
      case "--probe-timeout": o.probeTimeoutMs = num(val(), flag) * 1000; break;
      case "--root": o.root = val(); break;
      case "-O": case "--no-lock": o.noLock = true; break;
      case "--stats-file": o.statsFile = val(); break;
      case "--exit-dirty": o.exitDirty = true; break;
      case "-v": case "--verbose": if (o.logLevel !== "debug") o.logLevel = "info"; break;
      case "-d": case "--debug": o.logLevel = "debug"; break;
      default: bad(`unknown option ${a}`);
    }
  }
  o.root = resolve(o.root);
  if (o.retries < 1) o.retries = 1;
  if (o.local !== undefined && o.file !== undefined) bad("--local and -f both say where the configuration comes from; give one");
  return o;
}
