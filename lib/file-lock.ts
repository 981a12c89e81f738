// A lock file beside a shared file (`<path>.lock`, created O_EXCL), so several server processes
// never interleave their changes to it: clients.xml edits, an OpenSSL CA's index and serial.
import { closeSync, openSync, statSync, unlinkSync, utimesSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { VacfgError, type ErrorCode } from "../protocol/errors.js";

/** A lock untouched for this long was left by a killed process: it must not block the server forever. */
const LOCK_STALE_MS = 10_000;

/**
 * Holds `<path>.lock` while `fn` runs (waiting up to 30 s for another holder); errors carry `code`.
 * The holder touches its lock every quarter of `staleMs`, so only a dead holder's lock goes stale: a
 * live one that is slow (an fsync on a busy disk, a loaded machine) is waited for, never broken into.
 */
export async function withFileLock<T>(path: string, fn: () => T | Promise<T>, code: ErrorCode = "REPO_FILE", staleMs = LOCK_STALE_MS): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      closeSync(openSync(lock, "wx"));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > staleMs) unlinkSync(lock);
      } catch {
        /* the holder just released it */
      }
      if (Date.now() > deadline) throw new VacfgError(code, `${path}: timed out waiting for ${lock}`);
      await sleep(5);
    }
  }
  const keepFresh = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(lock, now, now);
    } catch {
      /* gone: released below */
    }
  }, staleMs / 4);
  keepFresh.unref();
  try {
    return await fn();
  } finally {
    clearInterval(keepFresh);
    try {
      unlinkSync(lock);
    } catch {
      /* already gone */
    }
  }
}
