// Partition tables of whole-disk raw images (MBR primary and logical partitions, GPT), read
// directly from the bytes with bounded reads, so no loop device or root is needed.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { VacfgError } from "../../protocol/errors.js";
import { FIRST_LOGICAL, isExtendedType, readLogicalPartitions } from "./ebr.js";

export interface Partition {
  /** 1-based, as Linux numbers them (sda1, ...). */
  index: number;
  offset: number;
  size: number;
  /** MBR: "0x83"; GPT: the type GUID. */
  type: string;
  /** MBR only: an extended partition is a container of logical ones (5, 6, ...), not a filesystem. */
  kind?: "primary" | "extended" | "logical";
}

export interface DiskLayout {
  scheme: "none" | "mbr" | "gpt";
  partitions: Partition[];
}

export function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(length);
    const n = readSync(fd, b, 0, length, offset);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function guid(b: Buffer): string {
  const h = (x: Buffer) => x.toString("hex");
  const le = (x: Buffer) => h(Buffer.from(x).reverse());
  return `${le(b.subarray(0, 4))}-${le(b.subarray(4, 6))}-${le(b.subarray(6, 8))}-${h(b.subarray(8, 10))}-${h(b.subarray(10, 16))}`.toUpperCase();
}

function readGpt(path: string, sector: number): Partition[] | undefined {
  const hdr = readAt(path, sector, 92);
  if (hdr.length < 92 || hdr.toString("latin1", 0, 8) !== "EFI PART") return undefined;
  const entriesLba = Number(hdr.readBigUInt64LE(72));
  const count = hdr.readUInt32LE(80);
  const entrySize = hdr.readUInt32LE(84);
  if (count > 1024 || entrySize < 128 || entrySize > 4096) throw new VacfgError("IMAGE", `${path}: implausible GPT header (${count} entries of ${entrySize} bytes)`);
  const table = readAt(path, entriesLba * sector, count * entrySize);
  const parts: Partition[] = [];
  for (let i = 0; i < count && (i + 1) * entrySize <= table.length; i++) {
    const e = table.subarray(i * entrySize, (i + 1) * entrySize);
    if (e.subarray(0, 16).every((x) => x === 0)) continue; // unused entry
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    parts.push({ index: i + 1, offset: first * sector, size: (last - first + 1) * sector, type: guid(e.subarray(0, 16)) });
  }
  return parts;
}

/** Reads the partition table (512-byte sectors; GPT also with 4096-byte sectors). */
export function readDiskLayout(path: string): DiskLayout {
  const mbr = readAt(path, 0, 512);
  if (mbr.length < 512 || mbr[510] !== 0x55 || mbr[511] !== 0xaa) return { scheme: "none", partitions: [] };
  const primaries: Partition[] = [];
  let protective = false;
  for (let i = 0; i < 4; i++) {
    const e = mbr.subarray(446 + i * 16, 446 + (i + 1) * 16);
    const type = e[4];
    if (type === 0) continue;
    if (type === 0xee) protective = true;
    primaries.push({ index: i + 1, offset: e.readUInt32LE(8) * 512, size: e.readUInt32LE(12) * 512, type: hexType(type), kind: isExtendedType(type) ? "extended" : "primary" });
  }
  if (protective) {
    const gpt = readGpt(path, 512) ?? readGpt(path, 4096);
    if (!gpt) throw new VacfgError("IMAGE", `${path}: protective MBR but no GPT header`);
    return { scheme: "gpt", partitions: gpt };
  }
  // A FAT/ext boot sector also ends in 55AA; an MBR has sane entries.
  if (primaries.length === 0) return { scheme: "none", partitions: [] };
  return { scheme: "mbr", partitions: [...primaries, ...logicalPartitions(path, primaries)] };
}

const hexType = (type: number) => `0x${type.toString(16).padStart(2, "0")}`;

/** Every extended primary's chain in slot order, numbered on from 5 across them, as Linux does. */
function logicalPartitions(path: string, primaries: Partition[]): Partition[] {
  const out: Partition[] = [];
  const diskSectors = Math.floor(statSync(path).size / 512);
  for (const p of primaries) {
    if (p.kind !== "extended") continue;
    const ext = { index: p.index, startSector: p.offset / 512, sectors: p.size / 512 };
    for (const l of readLogicalPartitions(path, ext, FIRST_LOGICAL + out.length, diskSectors, (o, n) => readAt(path, o, n))) {
      out.push({ index: l.index, offset: l.offset, size: l.size, type: hexType(l.type), kind: "logical" });
    }
  }
  return out;
}

/** True when an ext2/3/4 superblock magic (0xEF53) sits at offset+1080. */
export function hasExtMagic(path: string, offset: number): boolean {
  const b = readAt(path, offset + 1080, 2);
  return b.length === 2 && b[0] === 0x53 && b[1] === 0xef;
}
