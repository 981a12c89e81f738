// The one way to build a per-client path (a `.H_<client>` file in Cfg, SSHbase, Probes, a
// generated key): one file name inside one directory, refused when it, or the file it resolves
// to (symlinks followed), lies outside that directory. A client name never picks another file.
import { lstatSync, realpathSync } from "node:fs";
import { basename, dirname, join, sep } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import { quoteName } from "../../core/client-name.js";
import { stampFor, stillTrusted, type TrustStamp } from "../../core/repo-trust.js";

/** Paths found confined, reused while the repository's change notification vouches nothing changed. */
const confirmed = new Map<string, Map<string, { path: string; trust: TrustStamp }>>();

function refuse(dir: string, fileName: string, why: string): never {
  throw new VacfgError("PATH_ESCAPE", `refusing ${quoteName(fileName)} in ${dir}: ${why}`);
}

/** The real path of `dir`; for a directory not created yet, its nearest existing ancestor's real path plus the rest. */
function realDirOf(dir: string): string {
  try {
    return realpathSync.native(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT" || dirname(dir) === dir) throw e;
    return join(realDirOf(dirname(dir)), basename(dir));
  }
}

/**
 * `dir/fileName`, after checking that `fileName` is a single path component and that, when the
 * file exists, its real path (symlinks resolved) is inside the real path of `dir`. Throws
 * PATH_ESCAPE otherwise (a dangling symlink is refused too: a write would follow it).
 */
export function confinedPath(dir: string, fileName: string): string {
  if (fileName === "" || fileName === "." || fileName === ".." || fileName.includes("/") || fileName.includes("\0")) {
    refuse(dir, fileName, "not a single file name");
  }
  // Per directory, then per name: no key string made (and hashed) per call.
  const inDir = confirmed.get(dir);
  const known = inDir?.get(fileName);
  return known !== undefined && stillTrusted(known.trust) ? known.path : confirm(dir, fileName, inDir);
}

/** confinedPath of a name not vouched for (out of line: the vouched-for answer is inlined where files are read). */
function confirm(dir: string, fileName: string, inDir: Map<string, { path: string; trust: TrustStamp }> | undefined): string {
  const trust = stampFor(dir);
  const path = checkedPath(dir, fileName);
  if (trust) {
    if (!inDir) confirmed.set(dir, (inDir = new Map()));
    inDir.set(fileName, { path, trust });
  } else inDir?.delete(fileName);
  return path;
}

function checkedPath(dir: string, fileName: string): string {
  const path = join(dir, fileName);
  try {
    lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return path;
    throw e;
  }
  const realDir = realDirOf(dir);
  let real: string;
  try {
    real = realpathSync.native(path);
  } catch {
    refuse(dir, fileName, "a symbolic link that leads nowhere");
  }
  if (!real.startsWith(realDir + sep)) refuse(dir, fileName, `resolves to ${real}, outside ${realDir}`);
  return path;
}
