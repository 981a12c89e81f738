// Lock files the way shadow-utils' commonio takes them (FILE.<pid> hard-linked to FILE.lock, a
// lock whose process is dead is stale): for the account files, and for one agent run per root.
import { createHash } from "node:crypto";
import { closeSync, existsSync, linkSync, openSync, readFileSync, readdirSync, rmSync, writeSync, constants } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { VacfgError } from "../protocol/errors.js";

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * shadow-utils' commonio lock: write our pid to FILE.<pid>, hard-link it to FILE.lock (atomic
 * create), and treat a lock whose pid is dead as stale. useradd/passwd/vipw use the same files,
 * so they and the agent exclude each other.
 */
export function takePidLock(path: string, timeoutMs: number): () => void {
  const mine = `${path}.${process.pid}`;
  const lock = `${path}.lock`;
  const fd = openSync(mine, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  writeSync(fd, String(process.pid));
  closeSync(fd);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        linkSync(mine, lock);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        let holder = NaN;
        try {
          holder = Number(readFileSync(lock, "utf8").replace(/\0.*$/s, "").trim());
        } catch {
          continue; // vanished between link and read: try again
        }
        if (holder === process.pid) break;
        if (!pidAlive(holder)) {
          rmSync(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) throw new VacfgError("AGENT_RUN", `${lock} is held by process ${holder}`);
        sleepSync(100);
      }
    }
  } finally {
    rmSync(mine, { force: true });
  }
  removeDeadPidFiles(path);
  return () => rmSync(lock, { force: true });
}

/**
 * A process killed between creating FILE.<pid> and removing it leaves that file behind (shadow-utils
 * has the same window). Holding the lock, remove every FILE.<pid> whose process is dead and whose
 * content is that pid or empty (killed before the write), i.e. only what a lock taker creates.
 */
function removeDeadPidFiles(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = name.slice(prefix.length);
    if (!/^[1-9]\d*$/.test(pid) || pidAlive(Number(pid))) continue;
    const file = join(dir, name);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    if (text === "" || text.replace(/\0.*$/s, "").trim() === pid) rmSync(file, { force: true });
  }
}

/**
 * Where one agent run per target root is locked (upstream: /var/lock/bcfg2.run). It lives on the
 * host, never in the root, so a dry run leaves an image untouched.
 */
export function agentRunLockBase(root: string): string {
  const dir = existsSync("/run/lock") ? "/run/lock" : tmpdir();
  return root === "/" ? join(dir, "vacfg-agent") : join(dir, `vacfg-agent-${createHash("sha256").update(root).digest("hex").slice(0, 16)}`);
}
