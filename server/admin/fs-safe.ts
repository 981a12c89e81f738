// File writes for admin commands that must never clobber and never leave half a file:
// write a temp file beside the target, then hard-link it into place (fails if the target exists).
import { randomBytes } from "node:crypto";
import { linkSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Writes `data` to `path` unless it exists. True when written. Mode applies from the first byte on. */
export function writeFileOnce(path: string, data: string | Buffer, mode = 0o644): boolean {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  writeFileSync(tmp, data, { mode, flag: "wx" });
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}
