// Parsed repository files, cached by (inode, size, mtime): an unchanged file is never parsed
// twice, and an edited one is re-read on the next request without a restart.
import { statSync, readFileSync, readdirSync, type Stats } from "node:fs";

interface Slot<T> {
  sig: string;
  value?: T;
  error?: unknown;
}

function signature(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** The signature the caches compare, or undefined when the file does not exist. */
export function fileSignature(path: string): string | undefined {
  try {
    return signature(statSync(path));
  } catch {
    return undefined;
  }
}

/** One cache per parser: `get(path)` returns the parse of the file's current contents. */
export class FileCache<T> {
  private slots = new Map<string, Slot<T>>();
  constructor(private readonly parse: (text: string, path: string) => T) {}

  /** Returns undefined when the file does not exist. Parse errors are rethrown (and cached until the file changes). */
  get(path: string): T | undefined {
    let st: Stats;
    try {
      st = statSync(path);
    } catch {
      this.slots.delete(path);
      return undefined;
    }
    const sig = signature(st);
    const slot = this.slots.get(path);
    if (slot && slot.sig === sig) {
      if (slot.error !== undefined) throw slot.error;
      return slot.value;
    }
    try {
      const value = this.parse(readFileSync(path, "utf8"), path);
      this.slots.set(path, { sig, value });
      return value;
    } catch (error) {
      this.slots.set(path, { sig, error });
      throw error;
    }
  }

  /**
   * The owner of a write tells the cache what the file now holds: when the cached parse is of the
   * version `from`, `update` turns it into the parse of version `to` (in place), or returns false
   * to have the file parsed again on the next get.
   */
  advance(path: string, from: string, to: string, update: (value: T) => boolean): void {
    const slot = this.slots.get(path);
    if (!slot || slot.sig !== from || slot.error !== undefined || slot.value === undefined) return;
    if (update(slot.value)) this.slots.set(path, { sig: to, value: slot.value });
    else this.slots.delete(path);
  }

  invalidate(path?: string): void {
    if (path === undefined) this.slots.clear();
    else this.slots.delete(path);
  }
}

/** A directory listing cached by the directory's own mtime (entries added/removed change it). */
export class DirCache {
  private slots = new Map<string, { sig: string; names: string[] }>();

  list(dir: string): string[] {
    let st: Stats;
    try {
      st = statSync(dir);
    } catch {
      this.slots.delete(dir);
      return [];
    }
    if (!st.isDirectory()) return [];
    const sig = signature(st);
    const slot = this.slots.get(dir);
    if (slot && slot.sig === sig) return slot.names;
    const names = readdirSync(dir).sort();
    this.slots.set(dir, { sig, names });
    return names;
  }
}
