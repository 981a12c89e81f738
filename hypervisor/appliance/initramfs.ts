// The busybox initramfs shared by the test guest and the appliance image boot: busybox-static,
// the virtio drivers from the appliance kernel, and the /init of boot-protocol.ts.
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { VacfgError } from "../../protocol/errors.js";
import { INITRAMFS_INIT, POWER_BUTTON_ACTION, UDHCPC_SCRIPT } from "./boot-protocol.js";
import { buildOnce, exists, type Progress } from "./cache.js";
import { writeCpioNewc, type CpioEntry } from "./cpio.js";
import { ensureUnpackedDeb } from "./deb.js";
import { ensureKernel, type ApplianceKernel } from "./kernel.js";
import { resolveModules } from "./kmod.js";

/**
 * Drivers the guest needs: virtio disks and NICs (ext4 is built into the cloud kernel), the
 * ACPI power button + evdev so busybox acpid can turn the host's power-down request into poweroff,
 * and vfat with its code pages for a NoCloud seed drive (the agent mounts it in stage 2, where no
 * modules are installed).
 */
export const INITRAMFS_MODULES = ["virtio_pci", "virtio_blk", "virtio_net", "button", "evdev", "vfat", "nls_cp437", "nls_ascii", "nls_utf8"];
/** Unpacked, not installed: it conflicts with the dynamic busybox package other tools use. */
export const BUSYBOX_STATIC_PACKAGE = "busybox-static";

export async function ensureInitramfs(cacheDir: string, kernel: ApplianceKernel, progress: Progress): Promise<string> {
  const busybox = join(await ensureUnpackedDeb(cacheDir, BUSYBOX_STATIC_PACKAGE, progress), "bin", "busybox");
  if (!(await exists(busybox))) throw new VacfgError("IMAGE", `${BUSYBOX_STATIC_PACKAGE} has no bin/busybox`);
  const bb = await readFile(busybox);
  const modules = await resolveModules(kernel.modulesDir, INITRAMFS_MODULES);
  // The cache key covers everything that goes into the archive, so a changed init or busybox rebuilds it.
  const key = createHash("sha256").update(INITRAMFS_INIT).update(POWER_BUTTON_ACTION).update(UDHCPC_SCRIPT).update(bb).update(kernel.release).update(modules.join("\n")).digest("hex").slice(0, 16);
  const target = join(cacheDir, "initramfs", `initramfs-${kernel.release}-${key}.cpio.gz`);
  return buildOnce(target, "busybox initramfs", progress, async (tmp) => {
    const entries: CpioEntry[] = [
      ...["bin", "dev", "proc", "sys", "mnt", "newroot", "tmp", "lib", "lib/modules"].map((name): CpioEntry => ({ type: "dir", name })),
      // The kernel opens /dev/console for init's stdio before devtmpfs is mounted.
      { type: "chardev", name: "dev/console", major: 5, minor: 1 },
      { type: "chardev", name: "dev/null", major: 1, minor: 3, mode: 0o666 },
      { type: "file", name: "bin/busybox", data: bb, mode: 0o755 },
      { type: "symlink", name: "bin/sh", target: "busybox" },
      { type: "file", name: "init", data: Buffer.from(INITRAMFS_INIT), mode: 0o755 },
      ...["etc", "etc/acpi", "etc/acpi/PWRF"].map((name): CpioEntry => ({ type: "dir", name })),
      // busybox acpid runs CONFDIR/PWRF/00000080 when the power button event arrives.
      { type: "file", name: "etc/acpi/PWRF/00000080", data: Buffer.from(POWER_BUTTON_ACTION), mode: 0o755 },
      { type: "file", name: "etc/udhcpc.script", data: Buffer.from(UDHCPC_SCRIPT), mode: 0o755 },
      { type: "file", name: "lib/modules/load.order", data: Buffer.from(modules.map((m) => basename(m)).join("\n") + "\n") },
    ];
    for (const m of modules) entries.push({ type: "file", name: `lib/modules/${basename(m)}`, data: await readFile(m) });
    await writeFile(tmp, gzipSync(writeCpioNewc(entries), { level: 6 }));
  });
}

export interface BootBits {
  kernel: ApplianceKernel;
  vmlinuz: string;
  initrd: string;
}

/** Kernel + initramfs, built into the cache when missing. */
export async function ensureBootBits(cacheDir: string, progress: Progress): Promise<BootBits> {
  const kernel = await ensureKernel(cacheDir, progress);
  const initrd = await ensureInitramfs(cacheDir, kernel, progress);
  return { kernel, vmlinuz: kernel.vmlinuz, initrd };
}
