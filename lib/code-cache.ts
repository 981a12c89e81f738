// CommonJS modules of one directory (the vacfg-agent bundle) loaded with V8's code cache, so a run
// neither parses nor compiles again the functions an earlier run compiled (its top level and the
// functions it called, not only the top level: the cache is made after the run).
//
// V8 checks a cache against its own version and flags and against the source's length only, so a
// cache of another source of the same length would be taken and run stale code. A cache here is
// used only for exactly its source under exactly this node: its header holds a digest of both, and
// a digest of its payload (a damaged file is never given to V8). It is read only when written by
// root or by this user and writable by nobody else (a cache is code), and written only into a
// directory of root's or this user's that nobody else can write, never through a link planted there.
// Anything else: the module is compiled from its source, as without a cache, and `save` writes a new
// cache after the run.
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, type Stats } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Script } from "node:vm";

/** How a module's cache was found: used by V8, or why not (`off`: no cache directory). */
export type CacheState = "accepted" | "absent" | "stale" | "damaged" | "untrusted" | "rejected" | "off";

export interface CachedModuleLoader {
  /** The exports of the module file `name` of the directory, loaded (once) with its cache. */
  load(name: string): unknown;
  /** Each loaded module's cache state, in load order. */
  readonly states: ReadonlyMap<string, CacheState>;
  /**
   * Writes a cache for each loaded module whose cache was not used, holding what this process has
   * compiled of it by now (call it after the work, not before). Returns the modules written; a
   * directory that cannot be written (not root, read-only) writes none and is no error.
   */
  save(): string[];
}

const MAGIC = "vacfg-code-cache/1";
/** What a cache must have been made by: V8 rejects another version itself, but not another build of node with the same V8. */
const RUNTIME = `${process.version} ${process.arch} v8 ${process.versions.v8}`;
const sha256 = (...parts: (string | Buffer)[]): string => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

/** The cache file of module `name` (one per module, beside nothing else of ours in `cacheDir`). */
export const cacheFileOf = (cacheDir: string, name: string): string => join(cacheDir, `${name}.v8cache`);

/** The key a cache of a module carries: its file's bytes (hashed as read: five times faster than the string) and the runtime that compiled it. */
const keyOf = (bytes: Buffer): string => sha256(RUNTIME, "\0", bytes);

/** Root's or this user's, and writable by nobody else. */
const ownedSafely = (st: Stats): boolean => (st.uid === 0 || st.uid === (process.geteuid?.() ?? 0)) && (st.mode & 0o022) === 0;

/** The cache's payload for the module whose key is `key`, or why there is none to use. */
function readCache(file: string, key: string): Buffer | Exclude<CacheState, "accepted" | "rejected" | "off"> {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return "absent";
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !ownedSafely(st)) return "untrusted";
    const bytes = readFileSync(fd);
    const nl = bytes.indexOf(10);
    const fields = (nl > 0 ? bytes.subarray(0, nl).toString("latin1") : "").split(" ");
    if (fields[0] !== MAGIC) return "damaged";
    if (fields[1] !== key) return "stale";
    const payload = bytes.subarray(nl + 1);
    return sha256(payload) === fields[2] ? payload : "damaged";
  } finally {
    closeSync(fd);
  }
}

/**
 * A loader for the CommonJS module files of `dir`: `require("./NAME")` between them loads NAME from
 * `dir` the same way (one instance each); any other specifier is node's require. `cacheDir` null: no cache.
 */
export function cachedModuleLoader(dir: string, cacheDir: string | null): CachedModuleLoader {
  const nodeRequire = createRequire(join(dir, "_"));
  const modules = new Map<string, { exports: unknown }>();
  const scripts = new Map<string, { script: Script; key: string }>();
  const states = new Map<string, CacheState>();

  // node's require's resolve, cache, … kept, for the npm packages in the bundle that use them
  const requireFrom = Object.assign((spec: string): unknown => (/^\.\/[^/]+$/.test(spec) ? load(spec.slice(2)) : nodeRequire(spec)), nodeRequire);

  function load(name: string): unknown {
    const done = modules.get(name);
    if (done) return done.exports;
    const filename = join(dir, name);
    const bytes = readFileSync(filename);
    const key = cacheDir === null ? "" : keyOf(bytes);
    const found = cacheDir === null ? "off" : readCache(cacheFileOf(cacheDir, name), key);
    // node's own CommonJS wrapper, so the module sees what a required file sees
    const script = new Script(`(function (exports, require, module, __filename, __dirname) {${bytes.toString("utf8")}\n})`, {
      filename,
      cachedData: typeof found === "string" ? undefined : found,
    });
    states.set(name, typeof found === "string" ? found : script.cachedDataRejected ? "rejected" : "accepted");
    scripts.set(name, { script, key });
    const module = { exports: {} as unknown };
    modules.set(name, module);
    (script.runInThisContext() as (...a: unknown[]) => void).call(module.exports, module.exports, requireFrom, module, filename, dir);
    return module.exports;
  }

  function save(): string[] {
    if (cacheDir === null) return [];
    try {
      mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
      const st = lstatSync(cacheDir);
      if (!st.isDirectory() || !ownedSafely(st)) return [];
    } catch {
      return [];
    }
    const written: string[] = [];
    for (const [name, state] of states) {
      if (state === "accepted") continue;
      const { script, key } = scripts.get(name)!;
      const file = cacheFileOf(cacheDir, name);
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        const payload = script.createCachedData();
        // "wx": a new file, never one (or a link) already at that name
        writeFileSync(tmp, Buffer.concat([Buffer.from(`${MAGIC} ${key} ${sha256(payload)}\n`, "latin1"), payload]), { mode: 0o644, flag: "wx" });
        renameSync(tmp, file);
        written.push(name);
      } catch {
        try {
          rmSync(tmp, { force: true }); // ours half-written, or what was planted at its name
        } catch {
          /* nothing of ours to take back */
        }
      }
    }
    return written;
  }

  return { load, states, save };
}
