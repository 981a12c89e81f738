// Crash-safe file replacement: a temporary sibling is written, fsynced, given its final owner
// and mode, and renamed over the target, so a kill at any point leaves the old or the new file.
// node:fs's `promises` is loaded at its first use, not with this module (the agent's start-up)
import { closeSync, fchmodSync, fchownSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, symlinkSync, linkSync, unlinkSync, writeSync, constants, promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname, basename, join } from "node:path";

export const TEMP_MARK = ".vacfg-tmp-";

export function tempSibling(target: string): string {
  return join(dirname(target), `.${basename(target)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString("hex")}`);
}

/** fsync a directory so a rename in it survives a power cut. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface FileMeta {
  uid?: number;
  gid?: number;
  mode?: number;
}

/**
 * `fsync: false` leaves out the file's and the directory's fsync: still atomic against a kill (the
 * rename), durable only once the caller fsyncs it later (the agent does, off its critical path).
 * `fsyncDir: false` keeps the file's fsync (its data is on disk before the rename, as the shadow
 * tools write their files) and leaves the directory's to the caller.
 */
export interface SyncOption {
  fsync?: boolean;
  fsyncDir?: boolean;
}

export function writeFileAtomic(target: string, data: Buffer | string, meta: FileMeta = {}, { fsync = true, fsyncDir: syncDir = fsync }: SyncOption = {}): void {
  const tmp = tempSibling(target);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (meta.uid !== undefined || meta.gid !== undefined) fchownSync(fd, meta.uid ?? -1, meta.gid ?? -1);
    // chmod after chown: chown clears setuid/setgid bits
    fchmodSync(fd, meta.mode ?? 0o644);
    if (fsync) fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  if (syncDir) fsyncDir(dirname(target));
}

/**
 * writeFileAtomic with the writes and fsyncs off the event loop (a large file's fsync takes
 * milliseconds the server can spend on other requests). `renamed` runs right after the rename,
 * in the same turn, before the directory fsync: the caller can note the new file's signature
 * before anything else in the process looks at it.
 */
export async function writeFileAtomicAsync(target: string, data: Buffer | string, meta: FileMeta = {}, renamed?: () => void): Promise<void> {
  const tmp = tempSibling(target);
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  await finishTemp(tmp, fh, meta, () => fh.writeFile(data));
  await placeTemp(tmp, target, renamed);
}

/**
 * writeFileAtomicAsync for a file that changes only from byte `offset` on (lines added before the
 * closing tag of a file of megabytes): the temporary is a copy of `target` made by the kernel,
 * never read into memory, with everything from `offset` replaced by `data`.
 */
export async function replaceTailAtomic(target: string, offset: number, data: Buffer | string, meta: FileMeta = {}, renamed?: () => void): Promise<void> {
  const tmp = tempSibling(target);
  await fsp.copyFile(target, tmp, constants.COPYFILE_EXCL);
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_NOFOLLOW).catch(async (e: unknown) => {
    await fsp.rm(tmp, { force: true });
    throw e;
  });
  await finishTemp(tmp, fh, meta, async () => {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    await fh.truncate(offset);
    for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off, offset + off)).bytesWritten;
  });
  await placeTemp(tmp, target, renamed);
}

/** Fills a temporary, gives it its owner and mode, fsyncs and closes it; removes it on failure. */
async function finishTemp(tmp: string, fh: FileHandle, meta: FileMeta, fill: () => Promise<void>): Promise<void> {
  try {
    await fill();
    if (meta.uid !== undefined || meta.gid !== undefined) await fh.chown(meta.uid ?? -1, meta.gid ?? -1);
    // chmod after chown: chown clears setuid/setgid bits
    await fh.chmod(meta.mode ?? 0o644);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
}

/** Renames a finished temporary over `target`, runs `renamed`, then fsyncs the directory. */
async function placeTemp(tmp: string, target: string, renamed?: () => void): Promise<void> {
  try {
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  renamed?.();
  const dir = await fsp.open(dirname(target), constants.O_RDONLY | constants.O_DIRECTORY).catch(() => undefined);
  try {
    await dir?.sync();
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  } finally {
    await dir?.close();
  }
}

/** Moves a file made beside `target` (by a tool, or a patched copy) into place: fsync, rename, directory fsync. */
export function renameIntoPlace(tmp: string, target: string): void {
  const fd = openSync(tmp, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
  fsyncDir(dirname(target));
}

/** Replaces `target` with a symlink (or hard link) atomically. */
export function linkAtomic(kind: "symlink" | "hardlink", to: string, target: string, { fsync = true }: SyncOption = {}): void {
  const tmp = tempSibling(target);
  if (kind === "symlink") symlinkSync(to, tmp);
  else linkSync(to, tmp);
  try {
    renameSync(tmp, target);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  if (fsync) fsyncDir(dirname(target));
}

/** Removes temporaries a killed run left next to `target` (never anything else). */
export function removeStaleTemps(target: string): void {
  const dir = dirname(target);
  const prefix = `.${basename(target)}${TEMP_MARK}`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(prefix)) rmSync(join(dir, n), { force: true, recursive: true });
}

/**
 * Creates `target` with `data` only if it does not exist yet, atomically, also against other
 * processes: a fsynced temp sibling is hard-linked into place (link fails on an existing name), so
 * readers never see a partial file. False when another writer got there first.
 */
export function createFileOnce(target: string, data: Buffer | string, mode = 0o644): boolean {
  const tmp = tempSibling(target);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fchmodSync(fd, mode); // the umask must not narrow or widen what the caller asked for
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncDir(dirname(target));
  return true;
}
