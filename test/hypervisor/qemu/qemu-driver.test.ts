// The QEMU driver against real guests: the busybox appliance initramfs booted under QEMU, its
// serial marker, QMP pause/unpause/status, ACPI shutdown, destroy, list, and a virtio disk.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import { BOOT_MARKER, EXIT_MARKER, POWERDOWN_MARKER, bootCmdline } from "../../../hypervisor/appliance/boot-protocol.js";
import { resolveCacheDir } from "../../../hypervisor/appliance/cache.js";
import type { VmSpec } from "../../../hypervisor/vm/driver.js";
import { waitForSerial } from "../../../hypervisor/vm/serial.js";
import { probeKvm } from "../../../hypervisor/qemu/kvm-probe.js";
import { buildQemuArgs } from "../../../hypervisor/qemu/qemu-args.js";
import { QemuDriver } from "../../../hypervisor/qemu/qemu-driver.js";
import { liveProcess, tempDir, testBootBits, testMac } from "../helpers.js";

describe("hypervisor/qemu: QEMU driver with the busybox guest", function () {
  this.timeout(300_000);
  let dir: { path: string; remove: () => Promise<void> };
  let driver: QemuDriver;
  let kernel: string;
  let initrd: string;

  before(async () => {
    const bits = await testBootBits();
    kernel = bits.vmlinuz;
    initrd = bits.initrd;
    dir = await tempDir("vq-");
    // TCG explicitly: these tests are about the driver, and TCG is what works everywhere.
    // A deadline no loaded machine reaches: the shutdown test checks the guest powered itself off.
    driver = new QemuDriver({ stateDir: join(dir.path, "s"), accel: "tcg", shutdownTimeoutMs: 120_000 });
  });

  after(async () => {
    if (driver) for (const vm of await driver.list()) await driver.destroy(vm.name);
    await dir?.remove();
  });

  const guest = (name: string, command: string, extra: Partial<VmSpec> = {}): VmSpec => ({
    name, memoryMiB: 256, vcpus: 1, disks: [], nics: [], kernel, ramdisk: initrd,
    cmdline: bootCmdline({ command }), serialLog: join(dir.path, `${name}.log`), ...extra,
  });

  it("boots to the marker; status running, pause -> paused, unpause -> running; list; ACPI shutdown", async () => {
    expect(await driver.available()).to.deep.equal({ ok: true });
    const spec = guest("bb1", "echo guest-says-hello; while true; do echo tick; sleep 0.2; done");
    const handle = await driver.create(spec);
    expect(handle).to.include({ name: "bb1", driver: "qemu" });
    expect(handle.id).to.be.a("number");
    const log = await waitForSerial(spec.serialLog!, "guest-says-hello", { timeoutMs: 60_000 });
    expect(log).to.contain(BOOT_MARKER);
    expect((await driver.status("bb1")).state).to.equal("running");

    await driver.pause("bb1");
    expect((await driver.status("bb1")).state).to.equal("paused");
    expect(await driver.list()).to.deep.equal([{ name: "bb1", state: "paused", id: handle.id, memoryMiB: 256, vcpus: 1 }]);
    // Really stopped: the guest's ticking on the serial console halts while paused...
    const frozen = readFileSync(spec.serialLog!, "utf8").length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(readFileSync(spec.serialLog!, "utf8").length).to.equal(frozen);
    await driver.unpause("bb1");
    expect((await driver.status("bb1")).state).to.equal("running");
    // ...and resumes after unpause.
    await waitForSerial(spec.serialLog!, (t) => t.length > frozen, { timeoutMs: 60_000 });

    // A second VM of the same name is refused while the first runs.
    const dup = await driver.create(spec).then(() => null, (e: unknown) => e);
    expect(dup).to.be.instanceOf(VacfgError).and.have.property("message").that.matches(/already running/);

    await driver.shutdown("bb1");
    // The guest heard the power button (acpid in the initramfs) and powered itself off, rather than
    // being stopped by the driver at its deadline (quit or SIGKILL print no kernel power-down line).
    expect(readFileSync(spec.serialLog!, "utf8")).to.match(new RegExp(`${POWERDOWN_MARKER}[^]*reboot: Power down`));
    expect(await driver.list()).to.deep.equal([]);
    expect(liveProcess(handle.id!)).to.equal(false);
  });

  it("destroy stops a guest at once; pause of a stopped VM is refused", async () => {
    const spec = guest("bb2", "sleep 600");
    const h = await driver.create(spec);
    await waitForSerial(spec.serialLog!, BOOT_MARKER, { timeoutMs: 60_000 });
    await driver.destroy("bb2");
    expect(liveProcess(h.id!)).to.equal(false);
    expect(await driver.list()).to.deep.equal([]);
    const err = await driver.pause("bb2").then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(VacfgError).and.have.property("message").that.matches(/not running/);
  });

  it("a guest that powers off by itself is listed as shut down until destroyed", async () => {
    const spec = guest("bb3", "echo done-quickly");
    const h = await driver.create(spec);
    const log = await waitForSerial(spec.serialLog!, /reboot: Power down/, { timeoutMs: 60_000 });
    expect(log).to.contain(`${EXIT_MARKER} 0`);
    // QEMU exits on guest power-off; give it time to go (a loaded host can take a while). Waited for
    // through /proc, not QMP: QEMU 7.2 can hang in its exit when a QMP command arrives then.
    for (let i = 0; i < 600 && liveProcess(h.id!); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await driver.list()).to.deep.equal([{ name: "bb3", state: "shutdown" }]);
    await driver.destroy("bb3");
    expect(await driver.list()).to.deep.equal([]);
  });

  it("a QEMU killed behind the driver's back is listed as crashed (not shut down) until destroyed", async () => {
    const spec = guest("bb5", "sleep 600");
    const h = await driver.create(spec);
    await waitForSerial(spec.serialLog!, BOOT_MARKER, { timeoutMs: 60_000 });
    process.kill(h.id!, "SIGKILL");
    for (let i = 0; i < 600 && liveProcess(h.id!); i++) await new Promise((r) => setTimeout(r, 100));
    expect(liveProcess(h.id!)).to.equal(false);
    expect(await driver.list()).to.deep.equal([{ name: "bb5", state: "crashed" }]);
    await driver.destroy("bb5");
    expect(await driver.list()).to.deep.equal([]);
  });

  it("mounts a virtio disk (qcow2 overlay of a raw ext4 image) and runs the command on it", async () => {
    const tree = join(dir.path, "tree");
    mkdirSync(tree);
    writeFileSync(join(tree, "hello.txt"), "contents-from-the-disk\n");
    const raw = join(dir.path, "data, 1.img");
    execFileSync("mkfs.ext4", ["-q", "-F", "-d", tree, raw, "8M"]);
    const qcow = join(dir.path, "data-overlay.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", raw, "-F", "raw", qcow]);
    const spec = guest("bb4", "", {
      disks: [{ path: qcow, format: "qcow2", kind: "file" }, { path: raw, format: "raw", kind: "file", readonly: true }],
      cmdline: bootCmdline({ root: "/dev/vda", command: "cat /mnt/hello.txt; ls /sys/block" }),
    });
    await driver.create(spec);
    const log = await waitForSerial(spec.serialLog!, /reboot: Power down/, { timeoutMs: 60_000 });
    expect(log).to.contain("contents-from-the-disk");
    expect(log).to.match(/vda\s+vdb/);
    expect(log).to.contain(`${EXIT_MARKER} 0`);
    await driver.destroy("bb4");
  });

  it("boots the same guest on the i440fx \"pc\" machine", async () => {
    const pc = new QemuDriver({ stateDir: join(dir.path, "pc"), accel: "tcg", machine: "pc" });
    const spec = guest("bbpc", "cat /sys/class/dmi/id/product_name");
    try {
      await pc.create(spec);
      const log = await waitForSerial(spec.serialLog!, /reboot: Power down/, { timeoutMs: 60_000 });
      expect(log).to.match(/i440FX/);
      expect(log).to.contain(`${EXIT_MARKER} 0`);
    } finally {
      await pc.destroy("bbpc");
    }
  });

  it("builds the command line: q35/pc, accelerator, escaped commas, tap and user NICs, drives", () => {
    const spec: VmSpec = {
      name: "args", memoryMiB: 300, vcpus: 2, kernel: "/k", ramdisk: "/i", cmdline: "console=ttyS0",
      disks: [{ path: "/a,b.qcow2", format: "qcow2", kind: "file" }, { path: "/dev/sdb", format: "raw", kind: "phy", readonly: true }],
      nics: [{ mac: testMac(1), tap: "tap0", address: "10.0.0.2/24" }, { mac: testMac(2) }], serialLog: "/l,og",
    };
    const a = buildQemuArgs(spec, { accel: "kvm", machine: "pc", qmpSocket: "/q.sock", pidFile: "/p", daemonize: true });
    const joined = a.join(" ");
    expect(a.slice(a.indexOf("-machine"), a.indexOf("-machine") + 2)).to.deep.equal(["-machine", "pc,accel=kvm"]);
    expect(a).to.include.members(["-cpu", "host", "-m", "300", "-smp", "2", "-daemonize", "-no-reboot"]);
    expect(joined).to.contain("-drive file=/a,,b.qcow2,format=qcow2,if=virtio -drive file=/dev/sdb,format=raw,if=virtio,readonly=on");
    expect(joined).to.contain(`-nic tap,ifname=tap0,script=no,downscript=no,mac=${testMac(1)},model=virtio-net-pci`);
    expect(joined).to.contain(`-nic user,restrict=on,mac=${testMac(2)},model=virtio-net-pci`);
    expect(joined).to.contain("-chardev file,id=serial0,path=/l,,og -serial chardev:serial0");
    expect(a[a.indexOf("-append") + 1]).to.equal("console=ttyS0 vacfg.ip0=10.0.0.2/24");
    const tcg = buildQemuArgs({ ...spec, nics: [], serialLog: undefined }, { accel: "tcg", machine: "q35", qmpSocket: "/q", pidFile: "/p", daemonize: false });
    expect(tcg).to.include.members(["-cpu", "max", "-nic", "none", "-serial", "null"]);
    expect(tcg).to.not.include("-daemonize");
  });

  it("decides KVM by trying it: a trial boot must reach the marker; the verdict is cached", async () => {
    const cacheFile = join(dir.path, "kvm-verdict.json");
    const v = await probeKvm({ boot: { kernel, initrd, marker: BOOT_MARKER }, cacheFile, timeoutMs: 20_000 });
    expect(v.ok).to.be.a("boolean");
    if (!v.ok) expect(v.reason).to.be.a("string").and.not.equal("");
    console.log(`      KVM verdict: ${v.ok ? "works" : `unusable: ${v.reason}`} (${v.elapsedMs} ms)`);
    const onDisk = JSON.parse(readFileSync(cacheFile, "utf8")) as typeof v;
    expect(onDisk).to.deep.equal(v);
    // A verdict this process already holds (another test may have probed first) still lands in
    // a cache file given now.
    const second = join(dir.path, "kvm-verdict-2.json");
    expect(await probeKvm({ boot: { kernel, initrd, marker: BOOT_MARKER }, cacheFile: second })).to.deep.equal(v);
    expect(JSON.parse(readFileSync(second, "utf8"))).to.deep.equal(v);
    // Another process answers from the file without booting anything: a new probe would carry
    // its own probedAt and elapsedMs.
    const probeModule = new URL("../../../hypervisor/qemu/kvm-probe.js", import.meta.url).href;
    const again = execFileSync(process.execPath, ["--input-type=module", "-e",
      `const { probeKvm } = await import(${JSON.stringify(probeModule)});
       process.stdout.write(JSON.stringify(await probeKvm(${JSON.stringify({ boot: { kernel, initrd, marker: BOOT_MARKER }, cacheFile })})));`,
    ], { encoding: "utf8" });
    expect(JSON.parse(again)).to.deep.equal(v);
    // And the driver's "auto" accelerator follows the verdict.
    const auto = new QemuDriver({ stateDir: join(dir.path, "a"), kvmProbe: { boot: { kernel, initrd, marker: BOOT_MARKER }, cacheFile } });
    expect(await auto.accel()).to.equal(v.ok ? "kvm" : "tcg");
    expect(await resolveCacheDir()).to.be.a("string");
  });
});
