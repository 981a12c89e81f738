// The xl configuration as Xen itself reads it: every generated config is parsed by libxlutil
// (via the xlu-parse.c helper, compiled here against libxen-dev) and each key checked.
import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import type { VmSpec } from "../../../hypervisor/vm/driver.js";
import { renderXlConfig, xlDiskSpec, xlString } from "../../../hypervisor/xen/xl-config.js";
import { XlDriver } from "../../../hypervisor/xen/xl-driver.js";
import { parseXlList } from "../../../hypervisor/xen/xl-list.js";
import { sourceDir, tempDir } from "../helpers.js";

interface Parsed {
  settings: Record<string, { string?: string; long?: number; list?: string[]; error?: string }>;
  disks: { vdev: string; target: string; format: string; backend: string; readwrite: number; error?: number }[];
  vifs: Record<string, string>[];
}

describe("hypervisor/xen: xl configuration read back by libxlutil", function () {
  let dir: { path: string; remove: () => Promise<void> };
  let helper: string;
  let n = 0;

  before(async () => {
    dir = await tempDir("vacfg-xl-");
    helper = join(dir.path, "xlu-parse");
    execFileSync("cc", ["-Wall", "-Werror", "-o", helper, join(sourceDir, "xen", "xlu-parse.c"), "-lxlutil", "-lxenlight"], { stdio: "pipe" });
  });
  after(async () => dir.remove());

  function parseText(text: string): { status: number | null; parsed?: Parsed; stderr: string } {
    const file = join(dir.path, `cfg-${n++}.cfg`);
    writeFileSync(file, text);
    const r = spawnSync(helper, [file], { encoding: "utf8" });
    return { status: r.status, parsed: r.status === 0 ? (JSON.parse(r.stdout) as Parsed) : undefined, stderr: r.stderr };
  }
  function parse(spec: VmSpec): Parsed {
    const r = parseText(renderXlConfig(spec));
    expect(r.status, r.stderr).to.equal(0);
    return r.parsed!;
  }

  it("reads back name, memory, vcpus, scheduler weight/cap, kernel, ramdisk, extra and actions", () => {
    const p = parse({
      name: "web-1", memoryMiB: 768, vcpus: 3, cpuWeight: 512, cpuCap: 150, disks: [], nics: [],
      kernel: "/boot/vmlinuz-6.1", ramdisk: "/boot/initrd.img-6.1", cmdline: 'root=/dev/xvda1 ro vacfg.cmd="a b" \\ end',
    });
    const s = p.settings;
    expect(s.name.string).to.equal("web-1");
    expect(s.type.string).to.equal("pv");
    expect(s.memory.long).to.equal(768);
    expect(s.vcpus.long).to.equal(3);
    expect(s.cpu_weight.long).to.equal(512);
    expect(s.cap.long).to.equal(150);
    expect(s.kernel.string).to.equal("/boot/vmlinuz-6.1");
    expect(s.ramdisk.string).to.equal("/boot/initrd.img-6.1");
    expect(s.extra.string).to.equal('root=/dev/xvda1 ro vacfg.cmd="a b" \\ end');
    expect(s.on_poweroff.string).to.equal("destroy");
    expect(s.on_reboot.string).to.equal("restart");
    expect(s.on_crash.string).to.equal("destroy");
    expect(Object.keys(s).sort()).to.deep.equal(
      ["cap", "cpu_weight", "disk", "extra", "kernel", "memory", "name", "on_crash", "on_poweroff", "on_reboot", "ramdisk", "type", "vcpus", "vif"],
    );
    expect(s.disk.list).to.deep.equal([]);
    expect(s.vif.list).to.deep.equal([]);
  });

  it("disk specs parse with xlu_disk_parse: format, vdev, access, phy backend, and paths with commas and spaces", () => {
    const p = parse({
      name: "db", memoryMiB: 512, vcpus: 1, nics: [],
      disks: [
        { path: "/var/lib/vacfg/db, overlay 1.qcow2", format: "qcow2", kind: "file" },
        { path: "/dev/vg0/db-data", format: "raw", kind: "phy", readonly: true },
        { path: "/srv/seed.img", format: "raw", kind: "file", target: "xvdf" },
      ],
    });
    expect(p.settings.disk.list).to.have.length(3);
    expect(p.disks[0]).to.deep.include({ vdev: "xvda", target: "/var/lib/vacfg/db, overlay 1.qcow2", format: "qcow2", readwrite: 1 });
    expect(p.disks[1]).to.deep.include({ vdev: "xvdb", target: "/dev/vg0/db-data", format: "raw", backend: "phy", readwrite: 0 });
    expect(p.disks[2]).to.deep.include({ vdev: "xvdf", target: "/srv/seed.img", format: "raw", readwrite: 1 });
  });

  it("vif specs split as xl splits them: mac, bridge, vifname, ip", () => {
    const p = parse({
      name: "gw", memoryMiB: 256, vcpus: 1, disks: [],
      nics: [
        { mac: "00:16:3E:01:02:03", bridge: "xenbr0", address: "10.1.2.3/24" },
        { mac: "00:16:3e:0a:0b:0c", tap: "vif-gw1" },
      ],
    });
    expect(p.vifs).to.deep.equal([
      { mac: "00:16:3e:01:02:03", bridge: "xenbr0", ip: "10.1.2.3" },
      { mac: "00:16:3e:0a:0b:0c", vifname: "vif-gw1" },
    ]);
  });

  it("pvgrub boots the pvgrub2 image as the PV kernel", () => {
    const p = parse({ name: "pv", memoryMiB: 256, vcpus: 1, disks: [{ path: "/img/pv.qcow2", format: "qcow2", kind: "file" }], nics: [], pvgrub: true });
    expect(p.settings.kernel.string).to.equal("/usr/lib/grub-xen/grub-x86_64-xen.bin");
    expect(p.settings).to.not.have.property("ramdisk");
  });

  it("quotes strings so that every escapable character survives libxlutil's dequoting", () => {
    const nasty = `a"b'c\\d\te\nf\rg\x07h\bi\fj\vk é ✓`;
    const r = parseText(`s = ${xlString(nasty)}\n`);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.parsed!.settings.s.string).to.equal(nasty);
  });

  it("refuses control bytes libxlutil cannot read back, instead of writing them", () => {
    expect(() => xlString("a\x01b")).to.throw(VacfgError, /control byte 0x01/);
    expect(() => xlString("a\0b")).to.throw(VacfgError, /control byte 0x00/);
    // ...and that refusal is right: the numeric escape xl documents does not parse.
    const r = parseText('s = "\\x41"\n');
    expect(r.status).to.equal(2);
  });

  it("a deliberately broken value fails to parse, with the line named", () => {
    const good = renderXlConfig({ name: "x", memoryMiB: 256, vcpus: 1, disks: [], nics: [] });
    const broken = good.replace(/^memory = .*$/m, 'memory = "256');
    const r = parseText(broken);
    expect(r.status).to.equal(2);
    // line 4: comment, name, type, then memory
    expect(r.stderr).to.match(/cfg-\d+\.cfg:4: config parsing error/);
    const badList = parseText(good.replace(/^vif = .*$/m, 'vif = [ "mac=00:16:3e:00:00:01" '));
    expect(badList.status).to.equal(2);
    // a disk spec xl rejects: unknown format keyword
    const badDisk = parseText(good.replace(/^disk = .*$/m, 'disk = [ "format=vmdk9, vdev=xvda, target=/x" ]'));
    expect(badDisk.status).to.equal(0);
    expect(badDisk.parsed!.disks[0].error).to.be.a("number");
  });

  it("invalid specs never reach the config: bad name, MAC, target and paths are refused by field", () => {
    const base: VmSpec = { name: "ok", memoryMiB: 256, vcpus: 1, disks: [], nics: [] };
    expect(() => renderXlConfig({ ...base, name: "-rm" })).to.throw(VacfgError, /VmSpec\.name/);
    expect(() => renderXlConfig({ ...base, nics: [{ mac: "01:00:5e:00:00:01" }] })).to.throw(/nics\[0\]\.mac: is a multicast/);
    expect(() => renderXlConfig({ ...base, nics: [{ mac: "00:16:3e:00:00:01,script=/x" }] })).to.throw(/nics\[0\]\.mac/);
    expect(() => renderXlConfig({ ...base, disks: [{ path: "rel.img", format: "raw", kind: "file" }] })).to.throw(/disks\[0\]\.path: must be absolute/);
    expect(() => renderXlConfig({ ...base, cmdline: "a\nb" })).to.throw(/cmdline: contains control/);
    expect(() => renderXlConfig({ ...base, memoryMiB: 0 })).to.throw(/memoryMiB/);
    expect(xlDiskSpec({ path: "/a", format: "raw", kind: "file" }, 27)).to.equal("format=raw, vdev=xvdab, access=rw, target=/a");
  });

  it("parses `xl list` output rows into states", () => {
    const out = [
      "Name                                        ID   Mem VCPUs\tState\tTime(s)",
      "Domain-0                                     0  4096     4     r-----     812.3",
      "web 1                                        3   512     1     -b----      10.0",
      "db                                           4  1024     2     --p---       1.5",
      "old                                          5   256     1     ---sc-       0.2",
      "going                                        6   256     1     -----d       0.0",
    ].join("\n");
    expect(parseXlList(out)).to.deep.equal([
      { name: "web 1", id: 3, memoryMiB: 512, vcpus: 1, state: "blocked" },
      { name: "db", id: 4, memoryMiB: 1024, vcpus: 2, state: "paused" },
      { name: "old", id: 5, memoryMiB: 256, vcpus: 1, state: "crashed" },
      { name: "going", id: 6, memoryMiB: 256, vcpus: 1, state: "dying" },
    ]);
    expect(parseXlList(out, { includeDom0: true })[0]).to.deep.include({ name: "Domain-0", state: "running" });
  });

  it("the real xl toolstack: available() reports why it cannot run here, create() fails with xl's message", async () => {
    const drv = new XlDriver({ configDir: dir.path });
    const a = await drv.available();
    if (a.ok) {
      // A Xen host: the driver is usable; nothing more to check without starting domains.
      return;
    }
    expect(a.reason).to.be.a("string").and.not.equal("");
    const err = await drv.create({ name: "vacfg-xl-probe", memoryMiB: 128, vcpus: 1, disks: [], nics: [] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(VacfgError);
    expect((err as VacfgError).code).to.equal("VM");
    expect((err as Error).message).to.match(/xl create .*vacfg-xl-probe\.cfg: exit/);
    // Debian's /usr/sbin/xl is a wrapper that looks for /sys/hypervisor first; the real xl binary
    // gets further and fails creating its libxl context (no /dev/xen/privcmd).
    const realXl = "/usr/lib/xen-4.17/bin/xl";
    if (existsSync(realXl)) {
      const r = await new XlDriver({ configDir: dir.path, xl: realXl }).available();
      expect(r.ok).to.equal(false);
      expect(r.reason).to.match(/cannot init xl context|libxc|privcmd/);
    }
    // The config it wrote is whole and readable by libxlutil.
    const r = parseText(renderXlConfig({ name: "vacfg-xl-probe", memoryMiB: 128, vcpus: 1, disks: [], nics: [] }));
    expect(r.status).to.equal(0);
  });
});
