// The full appliance: debootstrap'd Debian + nodejs packed into ext4/qcow2, booted under QEMU TCG
// through the busybox initramfs and switch_root, running a command on a per-VM overlay.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { BOOT_MARKER, EXIT_MARKER, STAGE2_MARKER } from "../../../hypervisor/appliance/boot-protocol.js";
import { resolveCacheDir, stderrProgress } from "../../../hypervisor/appliance/cache.js";
import { applianceVmSpec, createOverlay, ensureApplianceImage, type ApplianceImage } from "../../../hypervisor/appliance/image.js";
import { QemuDriver } from "../../../hypervisor/qemu/qemu-driver.js";
import { waitForSerial } from "../../../hypervisor/vm/serial.js";
import { tempDir } from "../helpers.js";

describe("hypervisor/appliance: Debian + Node appliance image booted under QEMU", function () {
  // The first run debootstraps Debian (minutes); later runs reuse the cache.
  this.timeout(30 * 60_000);
  let dir: { path: string; remove: () => Promise<void> };
  let driver: QemuDriver;
  let image: ApplianceImage;

  before(async () => {
    dir = await tempDir("va-");
    driver = new QemuDriver({ stateDir: join(dir.path, "s"), accel: "tcg", shutdownTimeoutMs: 10_000 });
    image = await ensureApplianceImage(await resolveCacheDir(), {}, stderrProgress);
  });

  after(async () => {
    if (driver) for (const vm of await driver.list()) await driver.destroy(vm.name);
    await dir?.remove();
  });

  it("is cached: a second build returns the same base without rebuilding", async () => {
    const before = statSync(image.base).mtimeMs;
    const again = await ensureApplianceImage(await resolveCacheDir(), {}, () => { throw new Error("rebuilt a cached image"); });
    expect(again).to.deep.equal(image);
    expect(statSync(image.base).mtimeMs).to.equal(before);
    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", image.base], { encoding: "utf8" })) as { format: string };
    expect(info.format).to.equal("qcow2");
  });

  it("boots an overlay, switch_roots into Debian and runs node --version; the base stays untouched", async () => {
    const overlay = await createOverlay(image.base, join(dir.path, "app1.qcow2"));
    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", overlay], { encoding: "utf8" })) as Record<string, string>;
    expect(info["backing-filename"]).to.equal(image.base);
    expect(info["backing-filename-format"]).to.equal("qcow2");
    const baseMtime = statSync(image.base).mtimeMs;

    const serialLog = join(dir.path, "app1.log");
    const spec = applianceVmSpec({
      name: "app1", image, disk: overlay, serialLog,
      command: "echo NODE=$(node --version); . /etc/os-release; echo OS=$VERSION_CODENAME; echo written > /root/proof; cat /root/proof",
    });
    const t0 = Date.now();
    await driver.create(spec);
    const log = await waitForSerial(serialLog, /reboot: Power down|VACFG-ERROR/, { timeoutMs: 5 * 60_000 });
    console.log(`      appliance boot + command + power-off under TCG: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(log).to.contain(BOOT_MARKER);
    expect(log).to.contain(STAGE2_MARKER);
    expect(log).to.match(/NODE=v\d+\.\d+\.\d+/);
    expect(log).to.contain("OS=bookworm");
    expect(log).to.contain("written");
    expect(log).to.contain(`${EXIT_MARKER} 0`);
    await driver.destroy("app1");
    // The write went to the overlay, not the shared base.
    expect(statSync(image.base).mtimeMs).to.equal(baseMtime);
    execFileSync("qemu-img", ["check", "-q", overlay]);
  });
});
