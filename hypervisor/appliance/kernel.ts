// The appliance kernel: Debian's linux-image-cloud-amd64, fetched with apt-get download and
// unpacked with dpkg-deb (nothing is installed on the host), cached as vmlinuz + its modules.
import { mkdir, readdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { runChecked } from "../vm/exec.js";
import { buildOnce, exists, type Progress } from "./cache.js";

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
  const dir = join(cacheDir, "kernel", release);
  const kernel = { release, vmlinuz: join(dir, "vmlinuz"), modulesDir: join(dir, "root", "lib", "modules", release) };
  if (await exists(kernel.vmlinuz)) return kernel;
  await buildOnce(dir, `kernel ${pkg}`, progress, async (tmp) => {
    await mkdir(tmp, { recursive: true });
    progress(`apt-get download ${pkg}`);
    // apt drops privileges to _apt for downloads into a dir it can write; a root-owned temp dir
    // only earns a warning ("download is performed unsandboxed"), which is harmless here.
    await runChecked("apt-get", ["download", "-q", pkg], { cwd: tmp, code: "IMAGE", timeoutMs: 600_000 });
    const deb = (await readdir(tmp)).find((f) => f.endsWith(".deb"));
    if (!deb) throw new VacfgError("IMAGE", `apt-get download ${pkg} produced no .deb`);
    progress(`dpkg-deb -x ${deb}`);
    await runChecked("dpkg-deb", ["-x", join(tmp, deb), join(tmp, "root")], { code: "IMAGE" });
    await rename(join(tmp, "root", "boot", `vmlinuz-${release}`), join(tmp, "vmlinuz"));
    await runChecked("rm", ["-f", join(tmp, deb)]);
  });
  return kernel;
}
