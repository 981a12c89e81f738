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

/** One command-line option of the agent: its spellings, its value's name (if it takes one), what it does. */
export interface AgentFlag {
  flags: readonly string[];
  value?: string;
  help: string;
  /** Applies the option; absent for -h/--help, which stops parsing. */
  set?: (o: AgentOptions, value: string, flag: string) => void;
}

// bcfg2's option letters (and long names), in the order the usage lists them.
export const AGENT_FLAGS: readonly AgentFlag[] = [
  { flags: ["-h", "--help"], help: "print this help and exit" },
  // Read before everything else (parseAgentArgs), so that the command line overrides the file.
  { flags: ["-C", "--config"], value: "FILE", help: "config file, bcfg2.conf's sections and keys (default /etc/vacfg.conf)", set: () => undefined },
  { flags: ["-S", "--server"], value: "URL", help: "server URL, https://host:port (default https://localhost:6789)", set: (o, v) => (o.server = v) },
  { flags: ["-u", "--user"], value: "USER", help: "client name (default root)", set: (o, v) => (o.user = v) },
  { flags: ["-x", "--password"], value: "PASSWORD", help: "password (the site's or the client's own)", set: (o, v) => (o.password = v) },
  { flags: ["--ca", "--ca-cert"], value: "FILE", help: "site CA certificate: the server's certificate is checked against it (required unless --insecure)", set: (o, v) => (o.ca = v) },
  { flags: ["--insecure"], help: "without a CA, talk to any server anyway (the password goes to whoever answers)", set: (o) => (o.insecure = true) },
  { flags: ["--cert"], value: "FILE", help: "client certificate (PEM) for certificate authentication", set: (o, v) => (o.cert = v) },
  { flags: ["--key"], value: "FILE", help: "private key of --cert", set: (o, v) => (o.key = v) },
  { flags: ["-p", "--profile"], value: "PROFILE", help: "assert this profile", set: (o, v) => (o.profile = v) },
  { flags: ["-l", "--decision"], value: "MODE", help: "decision list mode: whitelist, blacklist or none", set: (o, v, f) => (o.decision = decision(v, f)) },
  { flags: ["-r", "--remove"], value: "MODE", help: "remove extra entries: all, services, packages or users", set: (o, v, f) => (o.remove = removeMode(v, f)) },
  { flags: ["-b", "--bundle"], value: "A[:B...]", help: "only install entries of these bundles", set: (o, v) => o.bundles.push(...v.split(/[:,]/).filter(Boolean)) },
  { flags: ["-f", "--file"], value: "FILE", help: "run from a cached configuration (no server)", set: (o, v) => (o.file = v) },
  {
    flags: ["--local"],
    value: "REPO",
    help: "no server: render REPO (Bcfg2 layout) in process with the server's core, as client -u (use -p PROFILE); needs the vacfg command, not the stand-alone agent",
    set: (o, v) => (o.local = resolve(v)),
  },
  { flags: ["-c", "--cache"], value: "FILE", help: "write the configuration received to FILE", set: (o, v) => (o.cache = v) },
  { flags: ["-n", "--dry-run"], help: "dry run: report what differs, change nothing", set: (o) => (o.dryRun = true) },
  { flags: ["-I", "--interactive"], help: "ask before each change", set: (o) => (o.interactive = true) },
  { flags: ["-e", "--show-extra"], help: "show extra entries", set: (o) => (o.showExtra = true) },
  { flags: ["-q", "--quick"], help: "quick: no package checksums", set: (o) => (o.quick = true) },
  { flags: ["-k", "--kevlar"], help: "kevlar: keep going after failures, re-inventory", set: (o) => (o.kevlar = true) },
  { flags: ["-P", "--paranoid"], help: "paranoid: back up files before changing them", set: (o) => (o.paranoid = true) },
  { flags: ["-O", "--no-lock"], help: "no run lock (another run may be going on)", set: (o) => (o.noLock = true) },
  { flags: ["-R", "--retries"], value: "N", help: "tries per server call (default 3)", set: (o, v, f) => (o.retries = num(v, f)) },
  { flags: ["-y", "--retry-delay"], value: "SEC", help: "seconds between tries (default 1)", set: (o, v, f) => (o.retryDelayMs = num(v, f) * 1000) },
  { flags: ["-t", "--timeout"], value: "SEC", help: "request timeout in seconds (default 90)", set: (o, v, f) => (o.timeoutMs = num(v, f) * 1000) },
  { flags: ["--probe-timeout"], value: "SEC", help: "seconds one probe may run (default 60)", set: (o, v, f) => (o.probeTimeoutMs = num(v, f) * 1000) },
  { flags: ["--root"], value: "DIR", help: "apply everything under DIR instead of / (probes run chrooted into DIR: needs root)", set: (o, v) => (o.root = v) },
  { flags: ["--stats-file"], value: "FILE", help: "also write the statistics document to FILE", set: (o, v) => (o.statsFile = v) },
  { flags: ["--exit-dirty"], help: "exit 3 when the run finished but entries are still bad (with -n: would change)", set: (o) => (o.exitDirty = true) },
  { flags: ["-v", "--verbose"], help: "verbose: why each bad entry is bad", set: (o) => o.logLevel !== "debug" && (o.logLevel = "info") },
  { flags: ["-d", "--debug"], help: "debug: also the diff of each bad file", set: (o) => (o.logLevel = "debug") },
];

const BY_FLAG = new Map(AGENT_FLAGS.flatMap((f) => f.flags.map((name) => [name, f] as const)));

export const USAGE = [
  "usage: vacfg agent [options]",
  ...AGENT_FLAGS.map((f) => {
    const left = `${f.flags.join(", ")}${f.value ? ` ${f.value}` : ""}`;
    return `  ${left.padEnd(26)} ${f.help}`;
  }),
  "exit status: 0 finished, 1 fatal error, 2 statistics not uploaded, 3 not clean (with --exit-dirty)",
].join("\n");

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
    const spec = BY_FLAG.get(flag);
    if (!spec) bad(`unknown option ${a}`);
    if (!spec.set) return "help";
    let value = "";
    if (spec.value) {
      value = inline ?? argv[++i];
      if (value === undefined) bad(`${flag} needs a value`);
    }
    spec.set(o, value, flag);
  }
  o.root = resolve(o.root);
  if (o.retries < 1) o.retries = 1;
  if (o.local !== undefined && o.file !== undefined) bad("--local and -f both say where the configuration comes from; give one");
  return o;
}
