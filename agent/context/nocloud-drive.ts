// A NoCloud seed attached as a drive, as cloud-init finds one: a block device whose filesystem
// label is "cidata" (any case), vfat or iso9660. The label is read from the device itself (FAT boot
// sector, ISO 9660 primary volume descriptor), so no blkid or udev is needed in the guest; the
// volume is mounted read-only just long enough to read user-data, as cloud-init does.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProtocolError } from "../../protocol/errors.js";

const LABEL = "cidata";
const HEAD = 0x8000 + 64;

/** The filesystem type when the first bytes of a device carry the cidata label. */
export function cidataType(head: Buffer): "vfat" | "iso9660" | undefined {
  const text = (from: number, len: number) => head.subarray(from, from + len).toString("latin1").trim().toLowerCase();
  if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa) {
    // FAT12/16 keep the volume label at 43 (type "FAT1x" at 54), FAT32 at 71 (type at 82).
    if (text(54, 3) === "fat" && text(43, 11) === LABEL) return "vfat";
    if (text(82, 5) === "fat32" && text(71, 11) === LABEL) return "vfat";
  }
  if (head.length >= HEAD && head.subarray(0x8001, 0x8006).toString("latin1") === "CD001" && text(0x8028, 32) === LABEL) return "iso9660";
  return undefined;
}

/** The first block device (under devDir, listed in sysBlockDir) labelled cidata. */
export function findCidataDevice(sysBlockDir = "/sys/class/block", devDir = "/dev"): { device: string; type: "vfat" | "iso9660" } | undefined {
  if (!existsSync(sysBlockDir)) return undefined;
  for (const name of readdirSync(sysBlockDir).sort()) {
    if (/^(loop|ram|zram|dm-)/.test(name)) continue;
    const device = join(devDir, name);
    let fd: number | undefined;
    try {
      fd = openSync(device, "r");
      const head = Buffer.alloc(HEAD);
      const n = readSync(fd, head, 0, HEAD, 0);
      const type = cidataType(head.subarray(0, n));
      if (type) return { device, type };
    } catch {
      // a device we cannot read (no medium, permissions) is not the seed
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return undefined;
}

/** user-data of the attached seed, or undefined without one; mounting failures are PARAMS_INVALID. */
export function readNoCloudDrive(sysBlockDir?: string, devDir?: string): { origin: string; userData: string } | undefined {
  const found = findCidataDevice(sysBlockDir, devDir);
  if (!found) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "vacfg-cidata-"));
  try {
    const m = spawnSync("mount", ["-t", found.type, "-o", "ro,nosuid,nodev,noexec", found.device, dir], { encoding: "utf8" });
    if (m.status !== 0) throw new ProtocolError("PARAMS_INVALID", `NoCloud seed ${found.device}: mount failed: ${(m.stderr || m.error?.message || "").trim()}`);
    try {
      const file = join(dir, "user-data");
      if (!existsSync(file)) throw new ProtocolError("PARAMS_INVALID", `NoCloud seed ${found.device} has no user-data`);
      return { origin: `${found.device}:/user-data`, userData: readFileSync(file, "utf8") };
    } finally {
      spawnSync("umount", [dir]);
    }
  } finally {
    try {
      rmdirSync(dir);
    } catch {
      // still mounted (umount failed): leave the empty mount point rather than hide the error
    }
  }
}
