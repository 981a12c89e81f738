// apt-get begun before the tools ahead of it (users, files) have finished (Tool.begin): it reads its
// configuration, resolves, fetches and plans meanwhile, and is held before it runs dpkg by a
// DPkg::Pre-Invoke hook reading a pipe the agent writes "go" to once they are done, so maintainer
// scripts still see every file and account the run installed first. Only where none of what those
// tools install is something apt-get reads before dpkg: its configuration, state, caches, logs and
// archives, the keys and certificates it checks them with, name resolution, the _apt account. If
// apt's configuration files changed meanwhile anyway, the pipe says "stop": apt-get ends before
// dpkg, having changed nothing, and runs again. If the agent dies first, the pipe ends: the hook
// fails, and apt-get with it, before dpkg.
import { lstatSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { posix } from "node:path";
import { readAptSources } from "../../lib/apt-sources.js";
import type { XmlElement } from "../../protocol/xml.js";
import { inRoot } from "../root.js";
import { dumpItems, dumpValue, fileStamp, parseDump } from "./apt-hooks.js";
import type { ExecResult } from "./tool.js";

/** The descriptor apt-get, its hooks and dpkg inherit the gate pipe on (a shell redirects 0-9 only). */
export const GATE_FD = 9;
/** The hook: reads one line from the pipe; anything but "go", or its end, fails it, and apt-get before dpkg. */
export const GATE_HOOK = `read -r vacfg_gate <&${GATE_FD} && test "$vacfg_gate" = go`;
/** apt-get's options adding the hook (after every other DPkg::Pre-Invoke item: there must be none) and keeping the pipe open for it. */
export const GATE_OPTIONS = ["-o", `APT::Keep-Fds::=${GATE_FD}`, "-o", `DPkg::Pre-Invoke::=${GATE_HOOK}`];

/** Why apt-get cannot be held this way, from apt-config's dump (HOOKS_DUMP), or undefined when it can. */
export function gateRefusal(dump: ExecResult, env: NodeJS.ProcessEnv): string | undefined {
  if (env.APT_CONFIG) return "APT_CONFIG is set";
  if (dump.code !== 0) return `apt-config failed (exit ${dump.code})`;
  // a site's hook (etckeeper's commit of /etc, …) would run before the files it expects are written
  const site = dumpItems(dump.stdout, "DPkg::Pre-Invoke");
  if (site.length) return `DPkg::Pre-Invoke is ${JSON.stringify(site)}`;
  return undefined;
}

/** What apt-get reads before it runs dpkg, beside the directories apt's configuration names (its own files, logs among them). */
const READ_BEFORE_DPKG = ["/etc/dpkg", "/var/lib/dpkg", "/usr/lib/apt", "/usr/share/keyrings", "/etc/passwd", "/etc/group"];
/** What it reads too when an archive is fetched over the network: name resolution and the certificates https is checked with. */
const READ_FOR_NETWORK = ["/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/ssl", "/usr/lib/ssl", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates"];

/**
 * Client paths apt-get reads before dpkg in this root: its Dir settings (from the dump), the fixed
 * ones, its archives; and whether one of those is reached over the network.
 */
export async function aptReads(root: string, dump: string): Promise<{ paths: string[]; network: boolean }> {
  const dir = dumpValue(dump, "Dir") ?? "/";
  const paths = [...READ_BEFORE_DPKG];
  let network = false;
  for (const [tag, value] of parseDump(dump)) {
    if (!value) continue;
    if (/^Dir::(State|Cache|Etc|Log)$/.test(tag)) paths.push(posix.resolve("/", dir, value));
    else if (/^Dir::(State|Cache|Etc|Log|Bin)::/.test(tag) && value.startsWith("/")) paths.push(value);
  }
  for (const s of await readAptSources(inRoot(root, posix.resolve("/", dir, dumpValue(dump, "Dir::Etc") ?? "etc/apt")))) {
    const local = /^(?:file|copy):(?:\/\/)?(\/.*)$/i.exec(s.uri);
    if (local) paths.push(posix.normalize(local[1]!));
    else network = true; // http(s), tor, cdrom, …: whatever it may need to reach them
  }
  if (network) paths.push(...READ_FOR_NETWORK);
  return { paths: [...new Set(paths)], network };
}

/** A client path's host path with every symbolic link resolved inside the root (the last one too). */
function resolvedInRoot(root: string, path: string): string {
  let p = posix.normalize(path);
  for (let hops = 0; hops < 40; hops++) {
    const host = inRoot(root, p);
    let target: string;
    try {
      if (!lstatSync(host).isSymbolicLink()) return host;
      target = readlinkSync(host);
    } catch {
      return host;
    }
    p = target.startsWith("/") ? target : posix.join(posix.dirname(p), target);
  }
  return inRoot(root, p);
}

const within = (a: string, b: string) => a === b || a.startsWith(b.endsWith("/") ? b : b + "/");

/** The host paths of `reads` (aptReads) in the root: each as named, and with every symbolic link resolved as a chroot would. */
export function readHostPaths(root: string, reads: string[]): string[] {
  return [...new Set(reads.flatMap((p) => [inRoot(root, p), resolvedInRoot(root, p)]))];
}

/**
 * Why installing `entries` may change what apt-get reads before dpkg (the first such entry), or
 * undefined when none can: a Path at, under or above one of `sensitive` (readHostPaths; its own
 * symbolic links resolved as a chroot would), the _apt account, or an entry of a kind not known here.
 */
export function changesAptReads(root: string, entries: XmlElement[], sensitive: string[]): string | undefined {
  for (const e of entries) {
    const label = `${e.tag}:${e.attrs.name ?? ""}`;
    if (e.tag === "POSIXUser") {
      if (e.attrs.name === "_apt") return `${label}: apt-get runs its downloads as _apt`;
      continue;
    }
    if (e.tag === "POSIXGroup") continue;
    if (e.tag !== "Path" || !e.attrs.name?.startsWith("/")) return `${label}: not a file or an account`;
    const host = inRoot(root, e.attrs.name);
    const hit = sensitive.find((s) => within(host, s) || within(s, host));
    if (hit !== undefined) return `${label}: apt-get reads ${root === "/" ? hit : "/" + posix.relative(root, hit)} before dpkg`;
  }
  return undefined;
}

/**
 * inode, size and times of apt's and dpkg's configuration files, dpkg's status and arch files and
 * apt's lists directory (the Dir::Etc tree and /etc/dpkg two levels deep; the lists' line last): taken while
 * the run talks to the server, and again before a held apt-get may go on.
 */
export function configFilesSignature(root: string, dump: string): string {
  const dir = dumpValue(dump, "Dir") ?? "/";
  const etc = posix.resolve("/", dir, dumpValue(dump, "Dir::Etc") ?? "etc/apt");
  const status = dumpValue(dump, "Dir::State::status") ?? "/var/lib/dpkg/status";
  const lists = posix.resolve("/", dir, dumpValue(dump, "Dir::State") ?? "var/lib/apt", dumpValue(dump, "Dir::State::lists") ?? "lists");
  const out: string[] = [];
  const stat = (p: string, depth: number) => {
    const host = inRoot(root, p);
    try {
      const st = statSync(host, { bigint: true });
      out.push(`${p}:${fileStamp(st)}`);
      if (depth > 0 && st.isDirectory()) for (const n of readdirSync(host).sort()) stat(posix.join(p, n), depth - 1);
    } catch {
      out.push(`${p}:-`);
    }
  };
  stat(etc, 2);
  stat("/etc/dpkg", 2);
  stat(status, 0);
  stat(posix.join(posix.dirname(status), "arch"), 0); // dpkg's foreign architectures, which apt-get was told (apt-hooks.ts)
  stat(lists, 0);
  return out.join("\n");
}

/** Whether two signatures (configFilesSignature) differ at most in the package lists' directory: apt-get update ran between them, nothing else changed. */
export function onlyListsChanged(before: string, after: string): boolean {
  return before.slice(0, before.lastIndexOf("\n")) === after.slice(0, after.lastIndexOf("\n"));
}
