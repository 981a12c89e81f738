// The appliance disk: the cached rootfs tarball plus the stage-2 init (and Debian packages such as
// vacfg-agent, installed with dpkg chrooted), packed into ext4 with mkfs.ext4 -d (no loop mount),
// converted to a qcow2 base; each VM then boots a copy-on-write overlay of that base.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { VmSpec } from "../vm/driver.js";
import { runChecked } from "../../lib/host-tools.js";
import { installDebs } from "./agent-package.js";
import { STAGE2_INIT, STAGE2_SERVICE_POLICY, bootCmdline } from "./boot-protocol.js";
import { buildOnce, type Progress } from "./cache.js";
import { ensureBootBits } from "./initramfs.js";
import { ensureRootfsTarball, type RootfsOptions } from "./rootfs.js";

export interface ApplianceImageOptions extends RootfsOptions {
  /** .deb files installed with dpkg in the root (e.g. vacfg-agent); their dependencies must be in `packages`. */
  debs?: string[];
  /** Free space left in the filesystem beyond its contents (default 256 MiB). */
  freeMiB?: number;
}

export interface ApplianceImage {
  /** qcow2 base image; never boot it directly, boot an overlay. */
  base: string;
  vmlinuz: string;
  initrd: string;
  kernelRelease: string;
}

/** Part of the image's cache key: images made before host keys were removed are not reused. */
const NO_HOST_KEYS = "no ssh host keys";

/**
 * Where the image of these inputs is cached: named by the root filesystem tarball (itself keyed by
 * its package set), the stage-2 init and service policy, the free space, the host keys' removal and the .debs' bytes
 * (packaging builds them reproducibly), so a changed agent bundle is a new image.
 */
export async function applianceImagePath(cacheDir: string, tarball: string, o: Pick<ApplianceImageOptions, "debs" | "freeMiB">): Promise<string> {
  const h = createHash("sha256").update(basename(tarball)).update(STAGE2_INIT).update(JSON.stringify(STAGE2_SERVICE_POLICY)).update(String(o.freeMiB ?? 256)).update(NO_HOST_KEYS);
  for (const d of o.debs ?? []) h.update("\0deb\0").update(await readFile(d));
  return join(cacheDir, "images", `appliance-${h.digest("hex").slice(0, 16)}.qcow2`);
}

export async function ensureApplianceImage(cacheDir: string, o: ApplianceImageOptions, progress: Progress): Promise<ApplianceImage> {
  const tarball = await ensureRootfsTarball(cacheDir, o, progress);
  const boot = await ensureBootBits(cacheDir, progress);
  const base = await applianceImagePath(cacheDir, tarball, o);
  await buildOnce(base, "appliance image (ext4 -> qcow2)", progress, async (tmp) => {
    const root = `${tmp}.root`;
    const raw = `${tmp}.raw`;
    await mkdir(root);
    progress(`unpacking ${basename(tarball)}`);
    await runChecked("tar", ["-xzf", tarball, "-C", root, "--numeric-owner"], { code: "IMAGE", timeoutMs: 600_000 });
    // openssh-server's postinst made host keys while debootstrap ran: every VM of the image would
    // share them. Each node gets its own from its parameters (and SSHbase) instead.
    await runChecked("sh", ["-c", 'rm -f "$1"/etc/ssh/ssh_host_*_key "$1"/etc/ssh/ssh_host_*_key.pub', "sh", root], { code: "IMAGE" });
    await writeFile(join(root, "sbin", "vacfg-init"), STAGE2_INIT);
    await chmod(join(root, "sbin", "vacfg-init"), 0o755);
    // An image with an init system (or a service policy) of its own keeps it.
    for (const [path, text] of Object.entries(STAGE2_SERVICE_POLICY)) {
      if (!existsSync(join(root, path)) && !existsSync(join(root, "sbin", basename(path)))) await writeFile(join(root, path), text, { mode: 0o755 });
    }
    await installDebs(root, o.debs ?? [], progress);
    await packImage(root, raw, tmp, o.freeMiB ?? 256, progress);
  });
  return { base, vmlinuz: boot.vmlinuz, initrd: boot.initrd, kernelRelease: boot.kernel.release };
}

/** An ext4 filesystem image of a tree (mkfs.ext4 -d: no mount, no root) and its qcow2 conversion. */
export async function packImage(root: string, raw: string, qcow2: string, freeMiB: number, progress: Progress): Promise<void> {
  const bytes = Number((await runChecked("du", ["-sb", root], { code: "IMAGE" })).split(/\s/)[0]);
  // ext4 metadata and block rounding take roughly a fifth on top of the file bytes.
  const sizeMiB = Math.ceil((bytes * 1.25) / 2 ** 20) + freeMiB;
  progress(`mkfs.ext4 -d (${sizeMiB} MiB) -> ${basename(raw)}`);
  await runChecked("mkfs.ext4", ["-q", "-F", "-L", "vacfg-root", "-d", root, raw, `${sizeMiB}M`], { code: "IMAGE", timeoutMs: 600_000 });
  progress(`qemu-img convert -> qcow2`);
  await runChecked("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow2], { code: "IMAGE", timeoutMs: 600_000 });
}

/** A copy-on-write qcow2 overlay of `base` for one VM: the base stays untouched and shared. */
export async function createOverlay(base: string, overlay: string): Promise<string> {
  await runChecked("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay], { code: "IMAGE" });
  return overlay;
}

export interface ApplianceBoot {
  name: string;
  image: ApplianceImage;
  /** The VM's own overlay (see createOverlay). */
  disk: string;
  /** Run by stage 2; without one, stage 2 runs the vacfg-agent package's boot run (boot-protocol.ts). */
  command?: string;
  memoryMiB?: number;
  vcpus?: number;
  serialLog?: string;
  nics?: VmSpec["nics"];
}

/** The VmSpec that boots an appliance overlay: initramfs mounts /dev/vda, switch_root, runs the command. */
export function applianceVmSpec(b: ApplianceBoot): VmSpec {
  return {
    name: b.name,
    memoryMiB: b.memoryMiB ?? 512,
    vcpus: b.vcpus ?? 1,
    disks: [{ path: b.disk, format: "qcow2", kind: "file", target: "vda" }],
    nics: b.nics ?? [],
    kernel: b.image.vmlinuz,
    ramdisk: b.image.initrd,
    cmdline: bootCmdline({ root: "/dev/vda", switchRoot: true, ...(b.command !== undefined ? { command: b.command } : {}) }),
    serialLog: b.serialLog,
  };
}
