// Shared test plumbing for the hypervisor tests: project paths, the appliance cache, temp dirs.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveCacheDir, stderrProgress } from "../../hypervisor/appliance/cache.js";
import { ensureBootBits, type BootBits } from "../../hypervisor/appliance/initramfs.js";

/** Repository root (this file runs from dist/test/hypervisor/). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** Where the hypervisor tests' non-TypeScript sources (xen/xlu-parse.c) live. */
export const sourceDir = join(projectRoot, "test", "hypervisor");

export const isRoot = () => process.getuid?.() === 0;

let bootBits: Promise<BootBits> | undefined;
/** Kernel + busybox initramfs from the shared cache (built on first use). */
export function testBootBits(): Promise<BootBits> {
  bootBits ??= resolveCacheDir().then((c) => ensureBootBits(c, stderrProgress));
  return bootBits;
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  // Short names under /tmp: QMP sockets live below and unix socket paths max out at 107 bytes.
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Locally administered unicast MAC for test guest `n`. */
export const testMac = (n: number) => `52:54:00:7a:c0:${n.toString(16).padStart(2, "0")}`;

/** True for a live (non-zombie) process: daemonized QEMUs are re-parented and may linger as zombies. */
export function liveProcess(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}
