// VM networking inside a private network namespace: two busybox guests on taps of one bridge
// reach each other and the bridge; nothing is left behind.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { BOOT_MARKER, bootCmdline } from "../../../hypervisor/appliance/boot-protocol.js";
import { QemuDriver } from "../../../hypervisor/qemu/qemu-driver.js";
import { createNetns, destroyNetns, hostAddresses, listNetns, type Netns } from "../../../hypervisor/vm/netns.js";
import { waitForSerial } from "../../../hypervisor/vm/serial.js";
import { isRoot, tempDir, testBootBits, testMac } from "../helpers.js";

describe("hypervisor/vm/netns: guests networked inside a namespace", function () {
  this.timeout(180_000);
  const nsName = `vacfg-t${process.pid}`;
  let dir: { path: string; remove: () => Promise<void> } | undefined;
  let driver: QemuDriver | undefined;
  let ns: Netns | undefined;

  before(function () {
    if (!isRoot()) this.skip(); // creating namespaces, bridges and taps needs root (CAP_NET_ADMIN)
  });

  after(async () => {
    if (driver) for (const vm of await driver.list()) await driver.destroy(vm.name);
    await destroyNetns(nsName);
    await dir?.remove();
  });

  it("allocates host addresses from a CIDR and refuses one too small", () => {
    expect(hostAddresses("10.77.3.0/24", 3)).to.deep.equal(["10.77.3.1/24", "10.77.3.2/24", "10.77.3.3/24"]);
    expect(hostAddresses("192.168.9.77/30", 2)).to.deep.equal(["192.168.9.77/30", "192.168.9.78/30"]);
    expect(() => hostAddresses("10.0.0.0/30", 3)).to.throw(/only 2 host addresses/);
  });

  it("two QEMU guests on the namespace bridge ping each other and the bridge; teardown removes everything", async () => {
    const { vmlinuz, initrd } = await testBootBits();
    dir = await tempDir("vn-");
    ns = await createNetns({ name: nsName, cidr: "10.213.7.0/24", taps: 2 });
    expect(ns).to.deep.include({ bridge: "br0", bridgeAddress: "10.213.7.1/24", taps: ["tap0", "tap1"], guestAddresses: ["10.213.7.2/24", "10.213.7.3/24"] });
    expect(await listNetns()).to.include(nsName);
    // The host sees none of it: the bridge and taps exist only inside the namespace.
    const hostLinks = execFileSync("ip", ["-o", "link"], { encoding: "utf8" });
    expect(execFileSync("ip", ["-n", nsName, "-o", "link"], { encoding: "utf8" })).to.match(/tap1.*master br0/);

    driver = new QemuDriver({ stateDir: join(dir.path, "s"), accel: "tcg", netns: nsName, shutdownTimeoutMs: 10_000 });
    const ping = (target: string) => `i=0; until ping -c 1 -W 1 ${target} >/dev/null; do i=$((i+1)); [ $i -ge 60 ] && exit 1; done; ping -c 2 -W 2 ${target}`;
    const logs = [join(dir.path, "a.log"), join(dir.path, "b.log")];
    for (const [i, name] of ["ga", "gb"].entries()) {
      const other = ns.guestAddresses[1 - i].replace(/\/\d+$/, "");
      await driver.create({
        name, memoryMiB: 256, vcpus: 1, disks: [], kernel: vmlinuz, ramdisk: initrd, serialLog: logs[i],
        nics: [{ mac: testMac(10 + i), tap: ns.taps[i], address: ns.guestAddresses[i] }],
        cmdline: bootCmdline({ command: `${ping(other)} && ${ping("10.213.7.1")} && echo NET-OK-${name}; sleep 600` }),
      });
    }
    for (const [i, name] of ["ga", "gb"].entries()) {
      const log = await waitForSerial(logs[i], new RegExp(`NET-OK-${name}|VACFG-EXIT`), { timeoutMs: 120_000 });
      expect(log).to.contain(BOOT_MARKER);
      expect(log, log).to.contain(`NET-OK-${name}`);
      expect(log).to.match(/2 packets transmitted, 2 (packets )?received/);
    }
    expect(hostLinks).to.not.match(/tap[01]:/);

    for (const vm of await driver.list()) await driver.shutdown(vm.name);
    expect(await driver.list()).to.deep.equal([]);
    await destroyNetns(nsName);
    expect(await listNetns()).to.not.include(nsName);
  });
});
