// Logical MBR partitions: the EBR chain inside an extended partition (types 0x05, 0x0f, 0x85),
// walked and numbered as Linux's block/partitions/msdos.c parse_extended() does, but refusing a
// damaged chain with an error instead of silently stopping, since we are about to write into it.
import { VacfgError } from "../../protocol/errors.js";

const SECTOR = 512;

/** Linux numbers logical partitions from 5 and stops below DISK_MAX_PARTS (256). */
export const FIRST_LOGICAL = 5;
export const MAX_PARTITION_NUMBER = 255;
/** EBRs followed per extended partition; a longer chain is hostile (Linux gives up after 100 empty links). */
export const MAX_EBRS = 256;

const EXTENDED_TYPES = new Set([0x05, 0x0f, 0x85]);

export function isExtendedType(type: number): boolean {
  return EXTENDED_TYPES.has(type);
}

export interface LogicalPartition {
  index: number;
  /** Byte offset and size on the disk. */
  offset: number;
  size: number;
  type: number;
  /** Sector of the EBR that describes it, for messages. */
  ebrSector: number;
}

export interface ExtendedPartition {
  /** Its primary slot (1-4). */
  index: number;
  startSector: number;
  sectors: number;
}

interface EbrEntry {
  slot: number;
  type: number;
  start: number;
  sectors: number;
}

function entries(sector: Buffer): EbrEntry[] {
  const out: EbrEntry[] = [];
  for (let slot = 0; slot < 4; slot++) {
    const e = sector.subarray(446 + slot * 16, 446 + (slot + 1) * 16);
    out.push({ slot, type: e[4], start: e.readUInt32LE(8), sectors: e.readUInt32LE(12) });
  }
  return out;
}

const range = (first: number, sectors: number) => `sectors ${first}-${first + sectors - 1}`;

/**
 * Logical partitions of one extended partition, numbered from `firstIndex` in chain order.
 * `read(offset, length)` is a bounded read of the disk; `diskSectors` its size in sectors.
 */
export function readLogicalPartitions(
  where: string,
  ext: ExtendedPartition,
  firstIndex: number,
  diskSectors: number,
  read: (offset: number, length: number) => Buffer,
): LogicalPartition[] {
  const extName = `extended partition ${ext.index} (${range(ext.startSector, ext.sectors)})`;
  const extEnd = ext.startSector + ext.sectors;
  if (ext.sectors === 0) return [];
  if (extEnd > diskSectors) throw new VacfgError("IMAGE", `${where}: ${extName} lies outside the disk (${diskSectors} sectors)`);
  const out: LogicalPartition[] = [];
  const seen = new Set<number>();
  let ebr = ext.startSector;
  let ebrSpan = ext.sectors; // the link's size: Linux checks slots 3-4 against it
  let from: number | undefined; // the EBR that linked here, for messages
  for (let n = 0; ; n++) {
    if (n >= MAX_EBRS) throw new VacfgError("IMAGE", `${where}: ${extName} has more than ${MAX_EBRS} EBRs in its chain`);
    const name = `EBR at sector ${ebr}${from === undefined ? ` (first of ${extName})` : ` (linked from EBR at sector ${from})`}`;
    if (seen.has(ebr)) throw new VacfgError("IMAGE", `${where}: EBR chain of ${extName} loops: ${name} was already read`);
    seen.add(ebr);
    const data = read(ebr * SECTOR, SECTOR);
    if (data.length < SECTOR) throw new VacfgError("IMAGE", `${where}: ${name} lies outside the disk`);
    if (data[510] !== 0x55 || data[511] !== 0xaa) {
      // sfdisk writes an empty EBR with the signature; an all-zero first sector also means "no logicals"
      if (from === undefined && data.every((b) => b === 0)) return out;
      throw new VacfgError("IMAGE", `${where}: ${name} has no 0x55AA signature`);
    }
    const slots = entries(data);
    // data partitions first, in slot order (DR-DOS and OS/2 put them in any slot)
    for (const e of slots) {
      if (e.sectors === 0 || isExtendedType(e.type)) continue;
      const start = ebr + e.start; // relative to this EBR
      const inside = start >= ext.startSector && start + e.sectors <= extEnd;
      // slots 3 and 4 often hold garbage; Linux skips them when they do not fit, and so do we
      if (e.slot >= 2 && (!inside || e.start + e.sectors > ebrSpan)) continue;
      const index = firstIndex + out.length;
      if (index > MAX_PARTITION_NUMBER) throw new VacfgError("IMAGE", `${where}: ${extName} holds more logical partitions than Linux numbers (up to ${MAX_PARTITION_NUMBER})`);
      const what = `partition ${index} (slot ${e.slot + 1} of ${name}: ${range(start, e.sectors)})`;
      if (start + e.sectors > diskSectors) throw new VacfgError("IMAGE", `${where}: ${what} lies outside the disk (${diskSectors} sectors)`);
      if (!inside) throw new VacfgError("IMAGE", `${where}: ${what} lies outside ${extName}`);
      out.push({ index, offset: start * SECTOR, size: e.sectors * SECTOR, type: e.type, ebrSector: ebr });
    }
    const link = slots.find((e) => e.sectors !== 0 && isExtendedType(e.type));
    if (!link) return out;
    const next = ext.startSector + link.start; // relative to the extended partition, not this EBR
    if (next >= extEnd) {
      throw new VacfgError("IMAGE", `${where}: link in slot ${link.slot + 1} of ${name} points to sector ${next}, outside ${extName}`);
    }
    from = ebr;
    ebr = next;
    ebrSpan = link.sectors;
  }
}
