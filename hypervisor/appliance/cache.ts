// Where the appliance boot bits are cached (VACFG_CACHE, else /var/cache/vacfg when writable,
// else ~/.cache/vacfg), and the build-once helper every artefact goes through.
import { constants } from "node:fs";
import { access, mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export type Progress = (message: string) => void;

/** Default progress output: one line per step on stderr, so test and build logs show where time goes. */
export const stderrProgress: Progress = (m) => process.stderr.write(`[appliance] ${m}\n`);

export async function resolveCacheDir(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.VACFG_CACHE) {
    await mkdir(env.VACFG_CACHE, { recursive: true });
    return env.VACFG_CACHE;
  }
  const system = "/var/cache/vacfg";
  try {
    await mkdir(system, { recursive: true });
    await access(system, constants.W_OK);
    return system;
  } catch {
    const user = join(homedir(), ".cache", "vacfg");
    await mkdir(user, { recursive: true });
    return user;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns `target`, building it first when it is missing. The builder writes into a fresh
 * temporary path beside the target which is renamed into place only on success, so an
 * interrupted or failed build never leaves a half-written artefact that a later run would reuse,
 * and two concurrent builders at worst both build (the last rename wins, both results are whole).
 */
export async function buildOnce(target: string, what: string, progress: Progress, build: (tmp: string) => Promise<void>): Promise<string> {
  if (await exists(target)) return target;
  await mkdir(dirname(target), { recursive: true });
  const tmpDir = await mkdtemp(join(dirname(target), ".build-"));
  const tmp = join(tmpDir, "out");
  const t0 = Date.now();
  progress(`building ${what} -> ${target}`);
  try {
    await build(tmp);
    try {
      await rename(tmp, target);
    } catch (e) {
      // A concurrent builder finished first (a directory target is then not empty): use theirs.
      if (!(await exists(target))) throw e;
    }
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
  progress(`built ${what} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return target;
}
