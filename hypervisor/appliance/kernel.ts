// The appliance kernel: Debian's linux-image-cloud-amd64 (the concrete linux-image package it
// points at), unpacked into the cache as vmlinuz + modules; nothing is installed on the host.
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { runChecked } from "../../lib/host-tools.js";
import type { Progress } from "./cache.js";
import { ensureUnpackedDeb } from "./deb.js";

export const KERNEL_META_PACKAGE = "linux-image-cloud-amd64";

export interface ApplianceKernel {
  /** e.g. "6.1.0-56-cloud-amd64" */
  release: string;
  vmlinuz: string;
  /** lib/modules/RELEASE of the unpacked package. */
  modulesDir: string;
}

/** The concrete linux-image-RELEASE package the meta package currently points at. */
async function resolveKernelPackage(): Promise<string> {
  const out = await runChecked("apt-cache", ["depends", KERNEL_META_PACKAGE], { code: "IMAGE" });
  const m = /Depends:\s+(linux-image-\d\S*)/.exec(out);
  if (!m) throw new VacfgError("IMAGE", `${KERNEL_META_PACKAGE}: apt-cache depends names no linux-image package`);
  return m[1];
}

export async function ensureKernel(cacheDir: string, progress: Progress): Promise<ApplianceKernel> {
  const pkg = await resolveKernelPackage();
  const release = pkg.replace(/^linux-image-/, "");
  const root = await ensureUnpackedDeb(cacheDir, pkg, progress);
  return { release, vmlinuz: join(root, "boot", `vmlinuz-${release}`), modulesDir: join(root, "lib", "modules", release) };
}
