// Logical MBR partitions (an extended partition's EBR chain): read as Linux numbers them
// (checked against sfdisk and partx), patched through the public API on raw and qcow2 disks,
// and damaged chains refused with the EBR named and the image unchanged.
import { expect } from "chai";
import { closeSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import { CONTEXT_FILE_PATH, parseParameterFile, serializeParameterFile } from "../../../protocol/params.js";
import { patchParameterFile } from "../../../hypervisor/image/patch-image.js";
import { readDiskLayout } from "../../../hypervisor/image/partitions.js";
import { FIGURE1 } from "../../support/figure1.js";
import { debugfsRaw, e2fsckClean, guestStat, mkDisk, sh, sha256 } from "./helpers.js";

const EXT_START = 18432;

/** 96 MiB: 1 ext /boot-like, 2 extended (80 MiB, free space after it), 5 ext /boot-like, 6 unformatted (swap), 7 ext root. */
function mkLogicalDisk(path: string): void {
  mkDisk(path, "dos", 96, [
    { startSector: 2048, sizeMiB: 8, dirs: ["/grub"] },
    { startSector: EXT_START, sizeMiB: 80, type: "5" },
    { startSector: 20480, sizeMiB: 8, dirs: ["/grub"] },
    { startSector: 38912, sizeMiB: 8 },
    { startSector: 57344, sizeMiB: 24, dirs: ["/etc", "/usr"] },
  ]);
}

/** Reads/writes a sector of the image directly, so damage is made without the code under test. */
function sector(path: string, lba: number, data?: Buffer): Buffer {
  const fd = openSync(path, data ? "r+" : "r");
  try {
    if (data) writeSync(fd, data, 0, 512, lba * 512);
    const b = Buffer.alloc(512);
    readSync(fd, b, 0, 512, lba * 512);
    return b;
  } finally {
    closeSync(fd);
  }
}

function setEntry(b: Buffer, slot: number, e: { type: number; start: number; sectors: number }): void {
  const o = 446 + slot * 16;
  b[o + 4] = e.type;
  b.writeUInt32LE(e.start, o + 8);
  b.writeUInt32LE(e.sectors, o + 12);
}

/** The second EBR (partition 6's): the first EBR's link is relative to the extended partition. */
function secondEbr(path: string): number {
  return EXT_START + sector(path, EXT_START).readUInt32LE(446 + 16 + 8);
}

describe("logical MBR partitions (hypervisor/image)", () => {
  let dir: string;
  const params = parseParameterFile(FIGURE1, "figure1.xml");
  const bytes = Buffer.from(serializeParameterFile(params));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-logical-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("numbers, starts and sizes every partition as sfdisk and partx do", () => {
    const img = join(dir, "disk.raw");
    mkLogicalDisk(img);
    const layout = readDiskLayout(img);
    expect(layout.scheme).to.equal("mbr");
    const ours = layout.partitions.map((p) => ({ nr: p.index, start: p.offset / 512, sectors: p.size / 512 }));
    const sfdisk = (JSON.parse(sh("sfdisk", ["--json", img])).partitiontable.partitions as { node: string; start: number; size: number }[]).map((p) => ({
      nr: Number(/(\d+)$/.exec(p.node)?.[1]),
      start: p.start,
      sectors: p.size,
    }));
    const partx = sh("partx", ["--raw", "--noheadings", "-o", "NR,START,SECTORS", img])
      .trim()
      .split("\n")
      .map((l) => l.split(" ").map(Number))
      .map(([nr, start, sectors]) => ({ nr, start, sectors }));
    expect(ours.map((p) => p.nr)).to.deep.equal([1, 2, 5, 6, 7]);
    expect(ours).to.deep.equal(sfdisk);
    expect(ours).to.deep.equal(partx);
    expect(layout.partitions.map((p) => p.kind)).to.deep.equal(["primary", "extended", "logical", "logical", "logical"]);
    expect(layout.partitions[1].type).to.equal("0x05");
  });

  it("reads an empty extended partition (signed empty EBR, or an all-zero sector) as no logical partitions", () => {
    const img = join(dir, "disk.raw");
    mkDisk(img, "dos", 48, [
      { startSector: 2048, sizeMiB: 24, dirs: ["/etc"] },
      { startSector: 2048 + 24 * 2048, sizeMiB: 16, type: "5" },
    ]);
    expect(readDiskLayout(img).partitions.map((p) => p.index)).to.deep.equal([1, 2]);
    sector(img, 2048 + 24 * 2048, Buffer.alloc(512));
    expect(readDiskLayout(img).partitions.map((p) => p.index)).to.deep.equal([1, 2]);
    expect(patchParameterFile(img, params, { secret: false }).partition).to.equal(1);
  });

  it("patches the root filesystem in logical partition 7 by default: same bytes, 0644 root:root, table unchanged", () => {
    const img = join(dir, "disk.raw");
    mkLogicalDisk(img);
    const table = sh("sfdisk", ["--json", img]);
    const r = patchParameterFile(img, params, { secret: false });
    expect(r).to.deep.equal({ format: "raw-disk", offset: 57344 * 512, partition: 7 });
    const root = `${img}?offset=${r.offset}`;
    expect(debugfsRaw(root, `cat ${CONTEXT_FILE_PATH}`).equals(bytes)).to.equal(true);
    expect(guestStat(root, CONTEXT_FILE_PATH)).to.deep.equal({ type: "regular", mode: "0644", uid: 0, gid: 0 });
    expect(guestStat(root, "/etc/vacfg")).to.deep.equal({ type: "directory", mode: "0755", uid: 0, gid: 0 });
    e2fsckClean(root);
    for (const other of [2048, 20480]) expect(guestStat(`${img}?offset=${other * 512}`, "/etc")).to.equal(undefined);
    expect(sh("sfdisk", ["--json", img])).to.equal(table);
    expect(readdirSync(dir)).to.deep.equal(["disk.raw"]);
  });

  it("patches an explicitly chosen logical partition and refuses the extended container and non-ext ones", () => {
    const img = join(dir, "disk.raw");
    mkLogicalDisk(img);
    const r = patchParameterFile(img, params, { secret: true, partition: 5 });
    expect(r).to.deep.equal({ format: "raw-disk", offset: 20480 * 512, partition: 5 });
    const p5 = `${img}?offset=${r.offset}`;
    expect(debugfsRaw(p5, `cat ${CONTEXT_FILE_PATH}`).equals(bytes)).to.equal(true);
    expect(guestStat(p5, CONTEXT_FILE_PATH)).to.deep.equal({ type: "regular", mode: "0600", uid: 0, gid: 0 });
    expect(guestStat(`${img}?offset=${57344 * 512}`, CONTEXT_FILE_PATH)).to.equal(undefined);
    e2fsckClean(p5);
    const before = sha256(img);
    const refusals: [number, string][] = [
      [2, "partition 2 is an extended partition"],
      [6, "partition 6 is not ext2/3/4"],
      [8, "no partition 8"],
    ];
    for (const [partition, msg] of refusals) {
      const e = refusal(() => patchParameterFile(img, params, { secret: false, partition }));
      expect(e.code).to.equal("IMAGE");
      expect(e.message).to.contain(msg);
    }
    expect(sha256(img)).to.equal(before);
  });

  it("patches a logical partition of a qcow2 disk and keeps it qcow2", () => {
    const raw = join(dir, "disk.raw");
    mkLogicalDisk(raw);
    const img = join(dir, "disk.qcow2");
    sh("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, img]);
    const r = patchParameterFile(img, params, { secret: false });
    expect(r).to.deep.equal({ format: "qcow2", offset: 57344 * 512, partition: 7 });
    expect(JSON.parse(sh("qemu-img", ["info", "--output=json", img])).format).to.equal("qcow2");
    const back = join(dir, "back.raw");
    sh("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", img, back]);
    const root = `${back}?offset=${r.offset}`;
    expect(debugfsRaw(root, `cat ${CONTEXT_FILE_PATH}`).equals(bytes)).to.equal(true);
    expect(guestStat(root, CONTEXT_FILE_PATH)).to.deep.equal({ type: "regular", mode: "0644", uid: 0, gid: 0 });
    e2fsckClean(root);
    expect(readdirSync(dir).sort()).to.deep.equal(["back.raw", "disk.qcow2", "disk.raw"]);
  });

  describe("refuses a damaged EBR chain, naming it, and leaves the image unchanged", () => {
    const cases: { name: string; damage: (img: string) => void; msg: RegExp }[] = [
      {
        name: "a loop (partition 6's EBR links back to the first EBR)",
        damage: (img) => {
          const at = secondEbr(img);
          const b = sector(img, at);
          setEntry(b, 1, { type: 0x05, start: 0, sectors: 4096 });
          sector(img, at, b);
        },
        msg: /EBR chain of extended partition 2 \(sectors 18432-182271\) loops: EBR at sector 18432 \(linked from EBR at sector 36864\) was already read/,
      },
      {
        name: "a link outside the extended partition",
        damage: (img) => {
          const at = secondEbr(img);
          const b = sector(img, at);
          setEntry(b, 1, { type: 0x05, start: 163840 + 10, sectors: 2048 });
          sector(img, at, b);
        },
        msg: /link in slot 2 of EBR at sector 36864 \(linked from EBR at sector 18432\) points to sector 182282, outside extended partition 2/,
      },
      {
        name: "a bad signature",
        damage: (img) => {
          const at = secondEbr(img);
          const b = sector(img, at);
          b[510] = 0;
          b[511] = 0;
          sector(img, at, b);
        },
        msg: /EBR at sector 36864 \(linked from EBR at sector 18432\) has no 0x55AA signature/,
      },
      {
        name: "a logical partition reaching past the extended partition",
        damage: (img) => {
          const b = sector(img, EXT_START);
          setEntry(b, 0, { type: 0x83, start: 2048, sectors: 163840 });
          sector(img, EXT_START, b);
        },
        msg: /partition 5 \(slot 1 of EBR at sector 18432 \(first of extended partition 2 \(sectors 18432-182271\)\): sectors 20480-184319\) lies outside extended partition 2/,
      },
      {
        name: "a logical partition starting beyond the disk",
        damage: (img) => {
          const at = secondEbr(img);
          const b = sector(img, at);
          setEntry(b, 0, { type: 0x83, start: 0x100000000 - 36864 + 2048, sectors: 2048 });
          sector(img, at, b);
        },
        msg: /partition 6 \(slot 1 of EBR at sector 36864 .* lies outside the disk \(196608 sectors\)/,
      },
      {
        name: "an extended partition cut off by the end of the image",
        damage: (img) => sh("truncate", ["-s", "85M", img]),
        msg: /extended partition 2 \(sectors 18432-182271\) lies outside the disk \(174080 sectors\)/,
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const img = join(dir, "disk.raw");
        mkLogicalDisk(img);
        c.damage(img);
        const before = sha256(img);
        const e = refusal(() => patchParameterFile(img, params, { secret: false }));
        expect(e.code).to.equal("IMAGE");
        expect(e.message).to.match(c.msg);
        expect(sha256(img)).to.equal(before);
        expect(readdirSync(dir)).to.deep.equal(["disk.raw"]);
      });
    }

    it("a hostile chain of empty EBRs longer than the bound, quickly", () => {
      const img = join(dir, "chain.raw");
      sh("truncate", ["-s", "1M", img]);
      const mbr = Buffer.alloc(512);
      setEntry(mbr, 0, { type: 0x0f, start: 64, sectors: 1024 });
      mbr[510] = 0x55;
      mbr[511] = 0xaa;
      sector(img, 0, mbr);
      for (let k = 0; k < 600; k++) {
        const ebr = Buffer.alloc(512);
        setEntry(ebr, 1, { type: 0x05, start: k + 1, sectors: 1 });
        ebr[510] = 0x55;
        ebr[511] = 0xaa;
        sector(img, 64 + k, ebr);
      }
      const e = refusal(() => readDiskLayout(img));
      expect(e.code).to.equal("IMAGE");
      expect(e.message).to.contain("extended partition 1 (sectors 64-1087) has more than 256 EBRs in its chain");
    });
  });
});

function refusal(f: () => unknown): VacfgError {
  try {
    f();
  } catch (e) {
    if (e instanceof VacfgError) return e;
    throw e;
  }
  throw new Error("expected a VacfgError");
}
