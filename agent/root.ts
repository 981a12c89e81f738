// Paths under the target root (--root): resolving a client path the way a chroot would, so a
// symlink inside the root that points at an absolute path never escapes to the host.
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { posix } from "node:path";

const MAX_HOPS = 40;

/**
 * Maps an absolute client path to a host path under `root`. Intermediate symlinks are
 * resolved relative to the root (as the kernel would inside a chroot); the last component
 * is left alone (lstat semantics), so the caller sees the link itself.
 */
export function inRoot(root: string, clientPath: string): string {
  if (root === "/" || root === "") return posix.normalize(clientPath);
  const normal = posix.normalize(root);
  const base = normal.endsWith("/") ? normal.slice(0, -1) : normal;
  const parts = posix.normalize("/" + clientPath).split("/").filter(Boolean);
  let resolved: string[] = [];
  let hops = 0;
  // Below a component that does not exist nothing does: the rest is taken literally without an
  // lstat each (tools ask for many paths that are not there, unit files in every directory).
  let missing = false;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === "..") {
      resolved.pop();
      missing = false;
      continue;
    }
    if (part === ".") continue;
    resolved.push(part);
    if (parts.length === 0 || missing) continue;
    const host = `${base}/${resolved.join("/")}`;
    let target: string | undefined;
    try {
      const st = lstatSync(host, { throwIfNoEntry: false });
      if (!st) missing = true;
      else if (st.isSymbolicLink()) target = readlinkSync(host);
    } catch {
      missing = true; // not a directory, or not readable: nothing more to resolve
    }
    if (target === undefined) continue;
    resolved.pop();
    if (++hops > MAX_HOPS) throw new Error(`${clientPath}: too many levels of symbolic links under ${root}`);
    if (target.startsWith("/")) resolved = [];
    parts.unshift(...target.split("/").filter(Boolean));
  }
  return resolved.length ? `${base}/${resolved.join("/")}` : normal;
}

/**
 * The soft open-file limit a chrooted command starts with: the kernel's and systemd's default.
 * Node raises its own soft limit to the hard one (often 524288 or more), and its children inherit
 * that. Without /proc in the root, apt-get (for each program it starts) and others walk every
 * possible descriptor up to that limit to mark it close-on-exec: 20,000 calls per program at a
 * hard limit of 20,000 (about 50 ms of CPU for one apt-get install), seconds at 524,288.
 */
export const CHROOT_NOFILE = 1024;

/** argv running `argv` (a program inside the root and its arguments) chrooted into `root`, with the soft open-file limit at CHROOT_NOFILE. */
export function chrootArgv(root: string, argv: readonly string[]): string[] {
  // dash's ulimit builtin; exec keeps one process (a timeout's kill reaches the program itself)
  return ["/bin/sh", "-c", `ulimit -S -n ${CHROOT_NOFILE} 2>/dev/null; exec chroot "$0" "$@"`, root, ...argv];
}

/**
 * Why `program` (a path inside the root) cannot be run chrooted into `root`, or undefined when it
 * can: chroot(2) needs root, and the program must exist inside the root.
 */
export function chrootRefusal(root: string, program: string): string | undefined {
  const uid = process.getuid?.();
  if (uid !== 0) return `running ${program} chrooted into ${root} needs root (this agent runs as uid ${uid ?? "unknown"})`;
  if (!existsSync(inRoot(root, program))) return `${root} has no ${program} to chroot into`;
  return undefined;
}
