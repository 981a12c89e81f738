// Parsed repository files, cached by (inode, size, mtime, ctime): an unchanged file is never parsed
// twice, and an edited one (or an edited file it XIncludes) is re-read on the next request.
// Inside a trust scope (repo-trust.ts) an entry checked since the last change is not even stat'ed.
// A file read within a clock tick of its last change is read again next time (racily clean).
import { statSync, readFileSync, readdirSync, type Stats } from "node:fs";
import { stampFor, stillTrusted, type TrustStamp } from "./repo-trust.js";

/** Extra files a parse read or looked for (XIncludes): path → signature then (undefined: missing). */
export type Dependencies = Map<string, string | undefined>;

interface Slot<T> {
  sig: string;
  value?: T;
  error?: unknown;
  /** Checked on every get, one stat each; absent when the parse read only the file itself. */
  deps?: Array<[string, string | undefined]>;
  /** When the file (and its deps) were last found unchanged under change notification. */
  trust?: TrustStamp;
}

/** `stamp` when its clock vouches for every dependency too (XIncludes stay inside the repository). */
function covering(stamp: TrustStamp | undefined, deps: Array<[string, string | undefined]> | undefined): TrustStamp | undefined {
  if (stamp && deps) for (const [p] of deps) if (!p.startsWith(stamp.clock.prefix)) return undefined;
  return stamp;
}

function signature(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** Remembered instead of the signature of a racily clean file: equal to no signature, so it is read again. */
const RECHECK = "recheck";

/**
 * Whether a file with these times, stat'ed at or after `before` (ms), is "racily clean" (git's term):
 * changed so recently that a rewrite of the same size could still get the same times and so the same
 * signature. The kernel stamps changes from a clock that moves once per tick (a few milliseconds;
 * whole seconds on filesystems whose ctimes show it), so two edits within one tick look alike.
 */
function racy(mtimeMs: number, ctimeMs: number, before: number): boolean {
  return before <= cleanFrom(mtimeMs, ctimeMs);
}

/** The last moment (ms) at which a read of a file with these times is still racily clean. */
function cleanFrom(mtimeMs: number, ctimeMs: number): number {
  return Math.max(mtimeMs, ctimeMs) + (ctimeMs % 1000 === 0 ? 2000 : 25);
}

/** Until when (Date.now(), ms) a read of the file at `path`, as it is now, is racily clean: its parse is read again next time. */
export function racilyCleanUntil(path: string): number {
  const st = statSync(path);
  return cleanFrom(st.mtimeMs, st.ctimeMs);
}

/** `sig` to remember for a parse of the file and its dependencies read since `before`, or RECHECK. */
function settledSignature(sig: string, deps: Array<[string, string | undefined]> | undefined, before: number): string {
  for (const s of [sig, ...(deps ?? []).map(([, d]) => d)]) {
    if (s === undefined) continue;
    const [, , m, c] = s.split(":");
    if (racy(Number(m), Number(c), before)) return RECHECK;
  }
  return sig;
}

/**
 * stat, or undefined when the path does not exist: a missing file is an answer here, not an error
 * (files a client could have are looked for on every build), and an exception per look costs more
 * than the stat (bench/scale: 4 % of the server's time with 100,000 clients).
 */
function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, EACCES...: not there for us either
  }
}

/** The signature the caches compare, or undefined when the file does not exist. */
export function fileSignature(path: string): string | undefined {
  const st = statOrUndefined(path);
  return st && signature(st);
}

/** One cache per parser: `get(path)` returns the parse of the file's current contents. */
export class FileCache<T> {
  private slots = new Map<string, Slot<T>>();
  /** `parse` records in `deps` any other file it reads (their changes invalidate the entry too). */
  constructor(private readonly parse: (text: string, path: string, deps: Dependencies) => T) {}

  /** Returns undefined when the file does not exist. Parse errors are rethrown (and cached until the file changes). */
  get(path: string): T | undefined {
    // The vouched-for answer only: V8 inlines this into every caller, the check of the disk stays out of line.
    const slot = this.slots.get(path);
    if (slot === undefined || !stillTrusted(slot.trust)) return this.check(path, slot);
    if (slot.error !== undefined) throw slot.error;
    return slot.value;
  }

  /** get() of a file not vouched for: stat'ed, and parsed again when it changed. */
  private check(path: string, slot: Slot<T> | undefined): T | undefined {
    // Taken before the stat: a change after it moves the generation and the next get checks again.
    const stamp = stampFor(path);
    const before = Date.now();
    const st = statOrUndefined(path);
    if (!st) {
      // Absence is remembered too (the files a client could have, .H_ files, are looked for on every build).
      if (stamp) this.slots.set(path, { sig: "", trust: stamp });
      else this.slots.delete(path);
      return undefined;
    }
    const sig = signature(st);
    if (slot && slot.sig === sig && (slot.deps === undefined || slot.deps.every(([p, s]) => fileSignature(p) === s))) {
      slot.trust = covering(stamp, slot.deps);
      if (slot.error !== undefined) throw slot.error;
      return slot.value;
    }
    const found: Dependencies = new Map();
    // A parse that failed on a missing include is retried once the include appears, hence deps on errors too.
    const deps = () => (found.size > 0 ? [...found] : undefined);
    try {
      const value = this.parse(readFileSync(path, "utf8"), path, found);
      slot = { sig: settledSignature(sig, deps(), before), value, deps: deps() };
      return value;
    } catch (error) {
      slot = { sig: settledSignature(sig, deps(), before), error, deps: deps() };
      throw error;
    } finally {
      slot!.trust = covering(stamp, slot!.deps);
      this.slots.set(path, slot!);
    }
  }

  /**
   * The owner of a write tells the cache what the file now holds: when the cached parse is of the
   * version `from`, `update` turns it into the parse of version `to` (in place), or returns false
   * to have the file parsed again on the next get. A parse that depends on other files (XIncludes)
   * is left alone: the write changed the signature, so the next get parses it again.
   */
  advance(path: string, from: string, to: string, update: (value: T) => boolean): void {
    const slot = this.slots.get(path);
    if (!slot || slot.sig !== from || slot.error !== undefined || slot.value === undefined || slot.deps !== undefined) return;
    if (update(slot.value)) this.slots.set(path, { sig: to, value: slot.value });
    else this.slots.delete(path);
  }

  invalidate(path?: string): void {
    if (path === undefined) this.slots.clear();
    else this.slots.delete(path);
  }
}

/** A directory listing cached by the directory's own signature (entries added/removed change it). */
export class DirCache {
  private slots = new Map<string, { sig: string; names: string[]; trust?: TrustStamp }>();

  list(dir: string): string[] {
    // As FileCache.get: the vouched-for answer inline, the check of the disk out of line.
    const known = this.slots.get(dir);
    return known !== undefined && stillTrusted(known.trust) ? known.names : this.check(dir, known);
  }

  private check(dir: string, known: { sig: string; names: string[]; trust?: TrustStamp } | undefined): string[] {
    const trust = stampFor(dir);
    const before = Date.now();
    const st = statOrUndefined(dir);
    if (!st) {
      // Absence is remembered under change notification (Cfg looks for a directory per entry name).
      if (trust) this.slots.set(dir, { sig: "", names: [], trust });
      else this.slots.delete(dir);
      return [];
    }
    if (!st.isDirectory()) {
      if (trust) this.slots.set(dir, { sig: "", names: [], trust });
      return [];
    }
    const sig = signature(st);
    if (known && known.sig === sig) {
      known.trust = trust;
      return known.names;
    }
    const names = readdirSync(dir).sort();
    this.slots.set(dir, { sig: racy(st.mtimeMs, st.ctimeMs, before) ? RECHECK : sig, names, trust });
    return names;
  }
}
