// Patching files into an appliance image: bare ext2/3/4, whole-disk raw (MBR/GPT), or qcow2.
// Always on a copy next to the image, renamed over it only after a verified write, so a
// failure at any step leaves the original untouched.
import { runCheckedSync } from "../../lib/host-tools.js";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { renameIntoPlace } from "../../lib/atomic-file.js";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { CONTEXT_FILE_PATH, serializeParameterFile, type ParamSignature, type ParameterFile } from "../../protocol/params.js";
import { VacfgError } from "../../protocol/errors.js";
import { fsSpec, statGuestPath, writeGuestFiles, type GuestFile } from "./debugfs.js";
import { hasExtMagic, readAt, readDiskLayout, type Partition } from "./partitions.js";

export type ImageFormat = "ext" | "raw-disk" | "qcow2";

export interface PatchOptions {
  /** Partition number as Linux numbers it (1-4 primary, 5... logical); default: the first ext partition holding /etc. */
  partition?: number;
  /** One line per step of long work (copy, qcow2 conversion, write, write-back). */
  progress?: (message: string) => void;
}

export interface PatchResult {
  format: ImageFormat;
  /** Byte offset of the filesystem inside the (raw) image. */
  offset: number;
  partition?: number;
}

export function detectImageFormat(image: string): ImageFormat {
  const head = readAt(image, 0, 4);
  if (head.length === 4 && head[0] === 0x51 && head[1] === 0x46 && head[2] === 0x49 && head[3] === 0xfb) return "qcow2";
  if (hasExtMagic(image, 0)) return "ext";
  return "raw-disk";
}

const tool = (cmd: string, args: string[]): string => runCheckedSync(cmd, args, { code: "IMAGE" });

/** Which filesystem of a raw image to patch, as a byte offset. */
export function locateFilesystem(image: string, opts: PatchOptions = {}): { offset: number; partition?: number } {
  if (hasExtMagic(image, 0)) {
    if (opts.partition) throw new VacfgError("IMAGE", `${image}: bare filesystem image has no partition ${opts.partition}`);
    return { offset: 0 };
  }
  const layout = readDiskLayout(image);
  if (layout.scheme === "none") throw new VacfgError("IMAGE", `${image}: neither an ext filesystem nor a partitioned disk`);
  // an extended partition's first sector is an EBR, never a filesystem; its logical partitions are listed too
  const ext = layout.partitions.filter((p) => p.kind !== "extended" && hasExtMagic(image, p.offset));
  let chosen: Partition | undefined;
  if (opts.partition) {
    chosen = layout.partitions.find((p) => p.index === opts.partition);
    if (!chosen) throw new VacfgError("IMAGE", `${image}: no partition ${opts.partition}`);
    if (chosen.kind === "extended") throw new VacfgError("IMAGE", `${image}: partition ${opts.partition} is an extended partition (a container of logical partitions 5, 6, ...), not a filesystem`);
    if (!ext.includes(chosen)) throw new VacfgError("IMAGE", `${image}: partition ${opts.partition} is not ext2/3/4`);
  } else {
    // A separate /boot is also ext; the root filesystem is the one with /etc.
    chosen = ext.find((p) => statGuestPath(fsSpec(image, p.offset), "/etc")?.type === "directory") ?? ext[0];
    if (!chosen) throw new VacfgError("IMAGE", `${image}: no ext2/3/4 partition in the ${layout.scheme} table`);
  }
  return { offset: chosen.offset, partition: chosen.index };
}

function tempSibling(image: string, tag: string): string {
  return join(dirname(image), `.${basename(image)}.${tag}-${randomBytes(4).toString("hex")}`);
}

/** Sparse-preserving copy (reflink when the filesystem can). */
function copySparse(from: string, to: string): void {
  tool("cp", ["--sparse=always", "--reflink=auto", "--", from, to]);
}

const BLOCK = 4096;

/** Byte ranges (4 KiB aligned, merged) where two equally long raw images differ. */
export function changedRanges(a: string, b: string): { offset: number; length: number }[] {
  const size = statSync(a).size;
  if (statSync(b).size !== size) throw new VacfgError("IMAGE", `${a} and ${b} differ in size`);
  const fa = openSync(a, "r");
  const fb = openSync(b, "r");
  const CHUNK = 4 * 1024 * 1024;
  const ba = Buffer.alloc(CHUNK);
  const bb = Buffer.alloc(CHUNK);
  const out: { offset: number; length: number }[] = [];
  try {
    for (let pos = 0; pos < size; pos += CHUNK) {
      const n = readSync(fa, ba, 0, Math.min(CHUNK, size - pos), pos);
      readSync(fb, bb, 0, n, pos);
      if (ba.subarray(0, n).equals(bb.subarray(0, n))) continue;
      for (let o = 0; o < n; o += BLOCK) {
        const len = Math.min(BLOCK, n - o);
        if (ba.subarray(o, o + len).equals(bb.subarray(o, o + len))) continue;
        const last = out[out.length - 1];
        if (last && last.offset + last.length === pos + o) last.length += len;
        else out.push({ offset: pos + o, length: len });
      }
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
  return out;
}

/**
 * qcow2 without converting the image itself: patch a raw view, then write only the changed
 * blocks into a copy with qemu-io. Backing file, snapshots and the other clusters stay as they were.
 */
function patchQcow2(image: string, files: GuestFile[], opts: PatchOptions, temps: string[]): PatchResult {
  const before = tempSibling(image, "raw-before");
  const after = tempSibling(image, "raw-after");
  const out = tempSibling(image, "qcow2");
  const chunks = mkdtempSync(join(tmpdir(), "vacfg-qcow2-"));
  temps.push(before, after, out, chunks);
  const say = opts.progress ?? (() => undefined);
  say(`qcow2: converting to a raw view (qemu-img convert)`);
  tool("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", image, before]);
  const loc = locateFilesystem(before, opts);
  copySparse(before, after);
  say(`writing ${files.length} file(s) with debugfs at offset ${loc.offset}`);
  writeGuestFiles(fsSpec(after, loc.offset), files);
  const ranges = changedRanges(before, after);
  say(`qcow2: writing ${ranges.length} changed range(s) (${ranges.reduce((n, r) => n + r.length, 0)} bytes) into a copy with qemu-io`);
  copySparse(image, out);
  const fd = openSync(after, "r");
  const cmds: string[] = [];
  try {
    ranges.forEach((r, i) => {
      const buf = Buffer.alloc(r.length);
      readSync(fd, buf, 0, r.length, r.offset);
      const chunk = join(chunks, `c${i}`);
      writeFileSync(chunk, buf, { mode: 0o600 });
      cmds.push("-c", `write -q -s ${chunk} ${r.offset} ${r.length}`);
    });
  } finally {
    closeSync(fd);
  }
  // one qemu-io run per 200 ranges ("-c", cmd pairs) keeps the argument list bounded
  for (let i = 0; i < cmds.length; i += 400) tool("qemu-io", ["-f", "qcow2", ...cmds.slice(i, i + 400), out]);
  const check = JSON.parse(tool("qemu-img", ["check", "--output=json", "-f", "qcow2", out])) as { "check-errors"?: number; corruptions?: number };
  if (check["check-errors"] || check.corruptions) throw new VacfgError("IMAGE", `${image}: patched qcow2 does not check clean`);
  renameIntoPlace(out, image);
  return { format: "qcow2", ...loc };
}

/** Writes files into the image atomically (copy, patch, verify, rename). */
export function patchImage(image: string, files: GuestFile[], opts: PatchOptions = {}): PatchResult {
  try {
    if (!statSync(image).isFile()) throw new VacfgError("IMAGE", `${image}: not a regular file`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) throw new VacfgError("IMAGE", `${image}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such image" : (e as Error).message}`, { cause: e });
    throw e;
  } // checked before any temp file exists
  const format = detectImageFormat(image);
  const temps: string[] = [];
  try {
    if (format === "qcow2") return patchQcow2(image, files, opts, temps);
    const loc = locateFilesystem(image, opts);
    const copy = tempSibling(image, "patch");
    temps.push(copy);
    opts.progress?.(`copying ${basename(image)} (sparse) to patch the copy`);
    copySparse(image, copy);
    opts.progress?.(`writing ${files.length} file(s) with debugfs at offset ${loc.offset}`);
    writeGuestFiles(fsSpec(copy, loc.offset), files);
    renameIntoPlace(copy, image);
    return { format, ...loc };
  } finally {
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  }
}

/** Delivers a parameter file to CONTEXT_FILE_PATH: root-owned, 0644, or 0600 when any parameter is secret. */
export function patchParameterFile(image: string, params: ParameterFile, opts: PatchOptions & { secret: boolean; signature?: ParamSignature }): PatchResult {
  const data = serializeParameterFile(params, opts.signature);
  return patchImage(image, [{ path: CONTEXT_FILE_PATH, data, mode: opts.secret ? 0o600 : 0o644, uid: 0, gid: 0 }], opts);
}
