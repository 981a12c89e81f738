// Patching files into an appliance image: bare ext2/3/4, whole-disk raw (MBR/GPT), or qcow2.
// Always on a copy next to the image, renamed over it only after a verified write, so a
// failure at any step leaves the original untouched.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { CONTEXT_FILE_PATH, serializeParameterFile, type ParameterFile } from "../../protocol/params.js";
import { VacfgError } from "../../protocol/errors.js";
import { fsSpec, statGuestPath, writeGuestFiles, type GuestFile } from "./debugfs.js";
import { hasExtMagic, readAt, readDiskLayout, type Partition } from "./partitions.js";

export type ImageFormat = "ext" | "raw-disk" | "qcow2";

export interface PatchOptions {
  /** 1-based partition to patch; default: the first ext partition holding /etc. */
  partition?: number;
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

function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new VacfgError("IMAGE", `${cmd}: ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) throw new VacfgError("IMAGE", `${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Which filesystem of a raw image to patch, as a byte offset. */
export function locateFilesystem(image: string, opts: PatchOptions = {}): { offset: number; partition?: number } {
  if (hasExtMagic(image, 0)) {
    if (opts.partition) throw new VacfgError("IMAGE", `${image}: bare filesystem image has no partition ${opts.partition}`);
    return { offset: 0 };
  }
  const layout = readDiskLayout(image);
  if (layout.scheme === "none") throw new VacfgError("IMAGE", `${image}: neither an ext filesystem nor a partitioned disk`);
  const ext = layout.partitions.filter((p) => hasExtMagic(image, p.offset));
  let chosen: Partition | undefined;
  if (opts.partition) {
    chosen = layout.partitions.find((p) => p.index === opts.partition);
    if (!chosen) throw new VacfgError("IMAGE", `${image}: no partition ${opts.partition}`);
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

interface Qcow2Info {
  compat?: string;
  clusterSize?: number;
  backing?: string;
  backingFormat?: string;
  snapshots: number;
}

function qcow2Info(image: string): Qcow2Info {
  const j = JSON.parse(tool("qemu-img", ["info", "--output=json", "-f", "qcow2", image])) as Record<string, unknown>;
  const spec = (j["format-specific"] as { data?: { compat?: string } } | undefined)?.data;
  return {
    compat: spec?.compat,
    clusterSize: j["cluster-size"] as number | undefined,
    backing: j["backing-filename"] as string | undefined,
    backingFormat: j["backing-filename-format"] as string | undefined,
    snapshots: ((j.snapshots as unknown[]) ?? []).length,
  };
}

/** Writes files into the image atomically (copy, patch, verify, rename). */
export function patchImage(image: string, files: GuestFile[], opts: PatchOptions = {}): PatchResult {
  statSync(image); // a missing image is an ENOENT here, before any temp file exists
  const format = detectImageFormat(image);
  const temps: string[] = [];
  try {
    if (format === "qcow2") {
      const info = qcow2Info(image);
      // Converting drops internal snapshots; refusing beats silently losing them.
      if (info.snapshots) throw new VacfgError("IMAGE", `${image}: qcow2 with ${info.snapshots} internal snapshot(s) is not patched`);
      const raw = tempSibling(image, "raw");
      temps.push(raw);
      tool("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", image, raw]);
      const loc = locateFilesystem(raw, opts);
      writeGuestFiles(fsSpec(raw, loc.offset), files);
      const out = tempSibling(image, "qcow2");
      temps.push(out);
      const o: string[] = [];
      if (info.compat) o.push(`compat=${info.compat}`);
      if (info.clusterSize) o.push(`cluster_size=${info.clusterSize}`);
      const args = ["convert", "-f", "raw", "-O", "qcow2"];
      if (o.length) args.push("-o", o.join(","));
      // With a backing file, -B keeps the overlay an overlay: only clusters differing from the base are written.
      if (info.backing) args.push("-B", info.backing, ...(info.backingFormat ? ["-F", info.backingFormat] : []));
      tool("qemu-img", [...args, raw, out]);
      renameSync(out, image);
      return { format, ...loc };
    }
    const loc = locateFilesystem(image, opts);
    const copy = tempSibling(image, "patch");
    temps.push(copy);
    copySparse(image, copy);
    writeGuestFiles(fsSpec(copy, loc.offset), files);
    renameSync(copy, image);
    return { format, ...loc };
  } finally {
    for (const t of temps) rmSync(t, { force: true });
  }
}

/** Delivers a parameter file to CONTEXT_FILE_PATH: root-owned, 0644, or 0600 when any parameter is secret. */
export function patchParameterFile(image: string, params: ParameterFile, opts: PatchOptions & { secret: boolean }): PatchResult {
  const data = serializeParameterFile(params);
  return patchImage(image, [{ path: CONTEXT_FILE_PATH, data, mode: opts.secret ? 0o600 : 0o644, uid: 0, gid: 0 }], opts);
}
