// Patching the parameter file into real images without root or mounting: bare ext4, MBR and
// GPT whole disks, qcow2 (plain and overlay); atomic on failure; read back byte for byte.
import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import { CONTEXT_FILE_PATH, parseParameterFile, serializeParameterFile } from "../../../protocol/params.js";
import { detectImageFormat, patchImage, patchParameterFile } from "../../../hypervisor/image/patch-image.js";
import { readDiskLayout } from "../../../hypervisor/image/partitions.js";
import { FIGURE1 } from "../../support/figure1.js";
import { debugfsRaw, e2fsckClean, guestStat, mkDisk, mkExt4, sh, sha256 } from "./helpers.js";

describe("image patching (hypervisor/image)", () => {
  let dir: string;
  const params = parseParameterFile(FIGURE1, "figure1.xml");
  const bytes = Buffer.from(serializeParameterFile(params));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-image-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes /etc/vacfg/context.xml into a bare ext4 image: same bytes, 0644 root:root, fsck clean", () => {
    const img = join(dir, "root.ext4");
    mkExt4(img, 16);
    const r = patchParameterFile(img, params, { secret: false });
    expect(r).to.deep.equal({ format: "ext", offset: 0 });
    expect(debugfsRaw(img, `cat ${CONTEXT_FILE_PATH}`).equals(bytes)).to.equal(true);
    expect(guestStat(img, CONTEXT_FILE_PATH)).to.deep.equal({ type: "regular", mode: "0644", uid: 0, gid: 0 });
    expect(guestStat(img, "/etc/vacfg")).to.deep.equal({ type: "directory", mode: "0755", uid: 0, gid: 0 });
    e2fsckClean(img);
    // no temp copies left beside the image
    expect(readdirSync(dir)).to.deep.equal(["root.ext4"]);
  });

  it("makes the file 0600 when a parameter is secret, and replaces an earlier file", () => {
    const img = join(dir, "root.ext4");
    mkExt4(img, 16, []); // no /etc at all: parents are created like mkdir -p
    patchImage(img, [{ path: CONTEXT_FILE_PATH, data: "old contents that are longer than the new ones ".repeat(100), mode: 0o644 }]);
    patchParameterFile(img, params, { secret: true });
    expect(debugfsRaw(img, `cat ${CONTEXT_FILE_PATH}`).equals(bytes)).to.equal(true);
    expect(guestStat(img, CONTEXT_FILE_PATH)).to.deep.equal({ type: "regular", mode: "0600", uid: 0, gid: 0 });
    expect(guestStat(img, "/etc")?.type).to.equal("directory");
    e2fsckClean(img);
  });

  it("patches the root partition of an MBR disk (not the /boot partition before it)", () => {
    const img = join(dir, "disk.raw");
    mkDisk(img, "dos", 40, [
      { startSector: 2048, sizeMiB: 8, dirs: ["/grub"] },
      { startSector: 2048 + 8 * 2048, sizeMiB: 24, dirs: ["/etc", "/usr"] },
    ]);
    const sfdisk = JSON.parse(sh("sfdisk", ["--json", img])).partitiontable;
    const layout = readDiskLayout(img);
    expect(layout.scheme).to.equal("mbr");
    expect(layout.partitions.map((p) => p.offset)).to.deep.equal(sfdisk.partitions.map((p: { start: number }) => p.start * 512));
    const r = patchParameterFile(img, params, { secret: false });
    expect(r).to.deep.equal({ format: "raw-disk", offset: (2048 + 8 * 2048) * 512, partition: 2 });
    const root = `${img}?offset=${r.offset}`;
    expect(debugfsRaw(root, `cat ${CONTEXT_FILE_PATH}`).equals(bytes)).to.equal(true);
    expect(guestStat(root, CONTEXT_FILE_PATH)?.mode).to.equal("0644");
    expect(guestStat(`${img}?offset=${2048 * 512}`, "/etc")).to.equal(undefined);
    e2fsckClean(root);
    // the partition table itself is untouched
    expect(JSON.parse(sh("sfdisk", ["--json", img])).partitiontable).to.deep.equal(sfdisk);
  });

  it("patches a GPT disk, and an explicitly chosen partition", () => {
    const img = join(dir, "disk.raw");
    mkDisk(img, "gpt", 48, [
      { startSector: 2048, sizeMiB: 8 }, // e.g. an EFI system partition, not ext
      { startSector: 2048 + 8 * 2048, sizeMiB: 16, dirs: ["/etc"] },
      { startSector: 2048 + 24 * 2048, sizeMiB: 16, dirs: ["/etc"] },
    ]);
    const layout = readDiskLayout(img);
    expect(layout.scheme).to.equal("gpt");
    expect(layout.partitions.map((p) => p.index)).to.deep.equal([1, 2, 3]);
    expect(layout.partitions[1].type).to.equal("0FC63DAF-8483-4772-8E79-3D69D8477DE4");
    const r = patchParameterFile(img, params, { secret: true, partition: 3 });
    expect(r.partition).to.equal(3);
    const root = `${img}?offset=${r.offset}`;
    expect(debugfsRaw(root, `cat ${CONTEXT_FILE_PATH}`).equals(bytes)).to.equal(true);
    expect(guestStat(root, CONTEXT_FILE_PATH)?.mode).to.equal("0600");
    expect(guestStat(`${img}?offset=${(2048 + 8 * 2048) * 512}`, CONTEXT_FILE_PATH)).to.equal(undefined);
    e2fsckClean(root);
    const e = (() => {
      try {
        patchParameterFile(img, params, { secret: false, partition: 1 });
      } catch (err) {
        return err as VacfgError;
      }
    })();
    expect(e?.code).to.equal("IMAGE");
    expect(e?.message).to.contain("partition 1 is not ext2/3/4");
  });

  it("patches a qcow2 image and keeps it qcow2", () => {
    const raw = join(dir, "disk.raw");
    mkDisk(raw, "gpt", 32, [{ startSector: 2048, sizeMiB: 24, dirs: ["/etc"] }]);
    const img = join(dir, "disk.qcow2");
    sh("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, img]);
    expect(detectImageFormat(img)).to.equal("qcow2");
    const r = patchParameterFile(img, params, { secret: false });
    expect(r.format).to.equal("qcow2");
    const info = JSON.parse(sh("qemu-img", ["info", "--output=json", img]));
    expect(info.format).to.equal("qcow2");
    expect(info["virtual-size"]).to.equal(32 * 1024 * 1024);
    const back = join(dir, "back.raw");
    sh("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", img, back]);
    expect(debugfsRaw(`${back}?offset=${r.offset}`, `cat ${CONTEXT_FILE_PATH}`).equals(bytes)).to.equal(true);
    expect(readdirSync(dir).sort()).to.deep.equal(["back.raw", "disk.qcow2", "disk.raw"]);
  });

  it("keeps a qcow2 overlay an overlay of the same backing file", () => {
    const base = join(dir, "base.qcow2");
    const raw = join(dir, "base.raw");
    mkExt4(raw, 16);
    sh("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, base]);
    const overlay = join(dir, "node1.qcow2");
    sh("qemu-img", ["create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", overlay]);
    const baseHash = sha256(base);
    patchParameterFile(overlay, params, { secret: false });
    const info = JSON.parse(sh("qemu-img", ["info", "--output=json", overlay]));
    expect(info["backing-filename"]).to.equal("base.qcow2");
    expect(sha256(base)).to.equal(baseHash);
    // the overlay holds only the changed clusters; everything else still comes from the base
    const map = JSON.parse(sh("qemu-img", ["map", "--output=json", overlay])) as { length: number; depth: number; data: boolean }[];
    const own = map.filter((m) => m.depth === 0 && m.data).reduce((n, m) => n + m.length, 0);
    const fromBase = map.filter((m) => m.depth === 1 && m.data).reduce((n, m) => n + m.length, 0);
    expect(own).to.be.greaterThan(0);
    expect(fromBase).to.be.greaterThan(0);
    expect(JSON.parse(sh("qemu-img", ["check", "--output=json", overlay]))["check-errors"]).to.equal(0);
    const back = join(dir, "back.raw");
    sh("qemu-img", ["convert", "-O", "raw", overlay, back]);
    expect(debugfsRaw(back, `cat ${CONTEXT_FILE_PATH}`).equals(bytes)).to.equal(true);
  });

  it("leaves the image untouched when patching fails", () => {
    const img = join(dir, "root.ext4");
    mkExt4(img, 16);
    // /etc/vacfg is a regular file: the directory cannot be created
    sh("debugfs", ["-w", "-R", "write /dev/null /etc/vacfg", img]);
    const before = sha256(img);
    let err: unknown;
    try {
      patchParameterFile(img, params, { secret: false });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(VacfgError);
    expect((err as VacfgError).code).to.equal("IMAGE");
    expect((err as VacfgError).message).to.contain("/etc/vacfg exists and is a regular");
    expect(sha256(img)).to.equal(before);
    expect(readdirSync(dir)).to.deep.equal(["root.ext4"]);
  });

  it("refuses an image that is neither ext nor partitioned, without changing it", () => {
    const img = join(dir, "junk.img");
    sh("truncate", ["-s", "4M", img]);
    let err: unknown;
    try {
      patchParameterFile(img, params, { secret: false });
    } catch (e) {
      err = e;
    }
    expect((err as VacfgError).code).to.equal("IMAGE");
    expect(readdirSync(dir)).to.deep.equal(["junk.img"]);
  });
});
