// The agent's NoCloud drive finder on real volumes: seeds built by the workspace (vfat, and iso9660
// by xorriso) are recognised by their label read from the bytes, another vfat volume is not, and
// the seed found among "block devices" is mounted read-only for its user-data (as root; the VM
// test in test/hypervisor/workspace/delivery.test.ts reads one in a booted guest).
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cidataType, findCidataDevice, readNoCloudDrive } from "../../../agent/context/nocloud-drive.js";
import { buildNoCloudVolume, noCloudSeed } from "../../../hypervisor/ctx/nocloud.js";
import { parseParameterFile } from "../../../protocol/params.js";
import { FIGURE1 } from "../../support/figure1.js";

function head(path: string): Buffer {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(0x8040);
    return b.subarray(0, readSync(fd, b, 0, b.length, 0));
  } finally {
    closeSync(fd);
  }
}

describe("agent: a NoCloud seed attached as a drive (context/nocloud-drive.ts)", () => {
  let dir: string;
  const seed = noCloudSeed(parseParameterFile(FIGURE1), { hostname: "node1", fqdn: "node1.cluster", secret: false });
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-cidata-drive-"));
    buildNoCloudVolume(join(dir, "seed.vfat"), seed, "vfat");
    buildNoCloudVolume(join(dir, "seed.iso"), seed, "iso");
    const other = spawnSync("mkfs.vfat", ["-C", "-n", "DATA", join(dir, "other.vfat"), "1440"], { encoding: "utf8" });
    if (other.status !== 0) throw new Error(other.stderr);
    writeFileSync(join(dir, "zeros"), Buffer.alloc(0x9000));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("knows the cidata label of a vfat and an iso9660 seed, and nothing else", () => {
    expect(cidataType(head(join(dir, "seed.vfat")))).to.equal("vfat");
    expect(cidataType(head(join(dir, "seed.iso")))).to.equal("iso9660");
    expect(cidataType(head(join(dir, "other.vfat")))).to.equal(undefined);
    expect(cidataType(head(join(dir, "zeros")))).to.equal(undefined);
    expect(cidataType(Buffer.alloc(10))).to.equal(undefined);
  });

  it("finds the seed among the block devices; a read-only mount reads its user-data (or fails naming the device) and leaves no mount behind", function () {
    if (process.getuid?.() !== 0) throw new Error("needs root: mount");
    // a /sys/class/block and /dev as the guest has them: names listed in sys, device nodes in dev
    const sys = join(dir, "sys");
    const dev = join(dir, "dev");
    mkdirSync(sys);
    mkdirSync(dev);
    for (const [name, file] of [["vda", "zeros"], ["vdb", "other.vfat"], ["vdc", "seed.vfat"]]) {
      mkdirSync(join(sys, name));
      symlinkSync(join(dir, file), join(dev, name));
    }
    expect(findCidataDevice(sys, dev)).to.deep.equal({ device: join(dev, "vdc"), type: "vfat" });
    // What this read leaves behind, not what another process (or an earlier, killed run) left.
    const mountPoints = () => readFileSync("/proc/mounts", "utf8").split("\n").filter((l) => l.includes("vacfg-cidata-"));
    const tempDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith("vacfg-cidata-"));
    const [mountsBefore, dirsBefore] = [mountPoints(), tempDirs()];
    // The guest's kernel has vfat (its initramfs loads it; the VM test reads seeds that way). A host
    // kernel without it (a container) must give a clear error naming the device, never a crash.
    if (readFileSync("/proc/filesystems", "utf8").split("\n").some((l) => l.trim() === "vfat")) {
      const got = readNoCloudDrive(sys, dev)!;
      expect(got.origin).to.equal(`${join(dev, "vdc")}:/user-data`);
      expect(got.userData).to.equal(seed.userData);
    } else {
      expect(() => readNoCloudDrive(sys, dev)).to.throw(/^NoCloud seed \S+\/dev\/vdc: mount failed: .*vfat/);
    }
    // unmounted again, and the mount point removed
    expect(mountPoints().filter((m) => !mountsBefore.includes(m))).to.deep.equal([]);
    expect(tempDirs().filter((n) => !dirsBefore.includes(n))).to.deep.equal([]);
    expect(findCidataDevice(join(dir, "no-such-sys"), dev)).to.equal(undefined);
  });
});
