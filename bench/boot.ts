// Time from `create` to the busybox guest's boot marker on the serial console, under TCG
// (baseline) and with KVM forced (the attempt the driver's probe makes), in the same run.
// Usage: node dist/bench/boot.js [runs=3]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { BOOT_MARKER, bootCmdline } from "../hypervisor/appliance/boot-protocol.js";
import { resolveCacheDir, stderrProgress } from "../hypervisor/appliance/cache.js";
import { ensureBootBits } from "../hypervisor/appliance/initramfs.js";
import { QemuDriver } from "../hypervisor/qemu/qemu-driver.js";
import { waitForSerial } from "../hypervisor/vm/serial.js";

const runs = Number(process.argv[2] ?? 3);

interface Sample { ms: number; ok: boolean; why?: string }

async function bootOnce(driver: QemuDriver, name: string, dir: string, vmlinuz: string, initrd: string): Promise<Sample> {
  const serialLog = join(dir, `${name}.log`);
  const t0 = performance.now();
  try {
    await driver.create({ name, memoryMiB: 256, vcpus: 1, disks: [], nics: [], kernel: vmlinuz, ramdisk: initrd, serialLog, cmdline: bootCmdline({ command: "sleep 600" }) });
    await waitForSerial(serialLog, BOOT_MARKER, { timeoutMs: 60_000, pollMs: 10, abort: async () => (await driver.status(name)).state === "shutdown" });
    return { ms: performance.now() - t0, ok: true };
  } catch (e) {
    return { ms: performance.now() - t0, ok: false, why: (e as Error).message.split("\n")[0].replace(/^.*: exit [^:]+: /, "") };
  } finally {
    await driver.destroy(name);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const { vmlinuz, initrd } = await ensureBootBits(await resolveCacheDir(), stderrProgress);
const dir = await mkdtemp(join(tmpdir(), "vb-"));
try {
  const tcg = new QemuDriver({ stateDir: join(dir, "t"), accel: "tcg" });
  const kvm = new QemuDriver({ stateDir: join(dir, "k"), accel: "kvm" });
  const t: Sample[] = [];
  const k: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    t.push(await bootOnce(tcg, `tcg${i}`, dir, vmlinuz, initrd));
    k.push(await bootOnce(kvm, `kvm${i}`, dir, vmlinuz, initrd));
  }
  const tOk = t.filter((s) => s.ok).map((s) => s.ms);
  const kOk = k.filter((s) => s.ok).map((s) => s.ms);
  console.log(`busybox guest, create -> "${BOOT_MARKER}" on ttyS0, ${runs} runs each (median):`);
  console.log(`  TCG  (baseline): ${tOk.length ? `${median(tOk).toFixed(0)} ms` : "failed"}  [${t.map((s) => s.ms.toFixed(0)).join(", ")}]`);
  if (kOk.length) {
    console.log(`  KVM            : ${median(kOk).toFixed(0)} ms  [${k.map((s) => s.ms.toFixed(0)).join(", ")}]`);
    if (tOk.length) console.log(`  ratio KVM/TCG  : ${(median(kOk) / median(tOk)).toFixed(3)} (TCG/KVM speed-up ${(median(tOk) / median(kOk)).toFixed(2)}x)`);
  } else {
    const fail = median(k.map((s) => s.ms));
    console.log(`  KVM            : unusable here, gave up after ${fail.toFixed(0)} ms: ${k[0].why}`);
    if (tOk.length) console.log(`  ratio KVM-verdict/TCG-boot: ${(fail / median(tOk)).toFixed(3)} (time to learn KVM is broken vs a TCG boot)`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
