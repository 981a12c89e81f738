// Durability of what a run wrote, off its critical path. The POSIX tool renames its files into
// place without an fsync each (a kill still leaves the old or the new file) and says here what it
// changed: a changed file or directory is fsynced right away in the background (libuv's thread
// pool, while the run goes on, e.g. into apt-get), and before the run reports (statistics, exit
// code) flush() waits for those and fsyncs each directory whose entries changed (those changed
// before a tool's install are fsynced as it begins, syncDirsNow, e.g. beside dpkg). Only the run's own
// paths are synced: a syncfs of the whole filesystem also waits for everybody else's dirty data
// (measured: over a second on a busy machine). Account files are fsynced before each rename, as
// shadow's tools write them, and only /etc's fsync comes here (account-files.ts); dpkg syncs what
// it unpacks itself.
import { constants, promises as fsp } from "node:fs";
import { dirname } from "node:path";

async function fsyncPath(path: string, directory: boolean): Promise<string | undefined> {
  try {
    const fh = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | (directory ? constants.O_DIRECTORY : 0));
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // gone since (a later entry removed it), or a filesystem that refuses fsync on directories
    if (code === "ENOENT" || (directory && (code === "EINVAL" || code === "EBADF"))) return undefined;
    return `fsync ${path}: ${(e as Error).message}`;
  }
}

export class RootSync {
  private readonly pending: Promise<string | undefined>[] = [];
  private readonly dirs = new Set<string>();

  /**
   * `path` (as seen from here, under the root) changed. `inode`: a regular file or a directory whose
   * content or metadata changed, fsynced now in the background; its parent directory is fsynced at
   * flush (the entry was created, renamed over or removed). Never opens anything else (a FIFO or a
   * device would block or act).
   */
  changed(path: string, inode: "file" | "directory" | undefined): void {
    if (inode) this.pending.push(fsyncPath(path, inode === "directory"));
    this.dirs.add(dirname(path));
  }

  /**
   * Begins the fsync of the directories changed so far, in the background (flush waits for it): a
   * tool about to run a long step of its own (apt-get's dpkg) has them written meanwhile, not after
   * it, when each directory's fsync would commit that step's metadata too. One changed again later
   * is synced again at flush.
   */
  syncDirsNow(): void {
    for (const d of this.dirs) this.pending.push(fsyncPath(d, true));
    this.dirs.clear();
  }

  /** Fsyncs the directories changed since syncDirsNow and waits for every fsync begun; the errors, in words. */
  async flush(): Promise<string[]> {
    this.syncDirsNow();
    const errors = await Promise.all(this.pending.splice(0));
    return errors.filter((e): e is string => e !== undefined);
  }
}
