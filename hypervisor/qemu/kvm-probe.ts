// Whether KVM really works here, found by trying it: /dev/kvm can exist while every KVM guest
// dies (QEMU's "failed to set MSR" assertion) or hangs, so only a boot that reaches a known
// serial marker counts. The verdict is cached per host boot, QEMU build and probe kernel.
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Availability } from "../vm/driver.js";
import { runTool } from "../../lib/host-tools.js";
import { writeFileAtomic } from "../../lib/atomic-file.js";

export interface KvmProbeOptions {
  qemu?: string;
  /** A guest that prints `marker` on ttyS0 soon after boot. Without one, surviving `timeoutMs` counts. */
  boot?: { kernel: string; initrd: string; marker: string };
  timeoutMs?: number;
  /** File holding the cached verdict; none = always probe. */
  cacheFile?: string;
}

export interface KvmVerdict extends Availability {
  key: string;
  probedAt: string;
  elapsedMs: number;
}

const memo = new Map<string, KvmVerdict>();

async function verdictKey(qemu: string, o: KvmProbeOptions): Promise<string> {
  const bootId = await readFile("/proc/sys/kernel/random/boot_id", "utf8").catch(() => "?");
  const version = (await runTool(qemu, ["--version"]).catch(() => ({ stdout: "?" }))).stdout;
  return createHash("sha256").update(bootId).update(version).update(o.boot ? `${o.boot.kernel}\0${o.boot.initrd}\0${o.boot.marker}` : "noboot").digest("hex").slice(0, 20);
}

export async function probeKvm(o: KvmProbeOptions = {}): Promise<KvmVerdict> {
  const qemu = o.qemu ?? "qemu-system-x86_64";
  const key = await verdictKey(qemu, o);
  const cached = memo.get(key);
  if (cached) {
    // Known in this process, perhaps from a caller with another (or no) cache file: this
    // caller's file must still hold it, or the next process probes again.
    if (o.cacheFile && (await readCached(o.cacheFile))?.key !== key) await writeCached(o.cacheFile, cached);
    return cached;
  }
  if (o.cacheFile) {
    const v = await readCached(o.cacheFile);
    if (v?.key === key) {
      memo.set(key, v);
      return v;
    }
  }
  const t0 = Date.now();
  const result = await tryKvmBoot(qemu, o);
  const verdict: KvmVerdict = { ...result, key, probedAt: new Date().toISOString(), elapsedMs: Date.now() - t0 };
  memo.set(key, verdict);
  if (o.cacheFile) await writeCached(o.cacheFile, verdict);
  return verdict;
}

async function readCached(file: string): Promise<KvmVerdict | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as KvmVerdict;
  } catch {
    return undefined; // no or unreadable verdict: probe
  }
}

/** Write-then-rename, so a concurrent reader never sees half a verdict. */
async function writeCached(file: string, verdict: KvmVerdict): Promise<void> {
  writeFileAtomic(file, JSON.stringify(verdict, null, 2) + "\n");
}

async function tryKvmBoot(qemu: string, o: KvmProbeOptions): Promise<Availability> {
  try {
    await stat("/dev/kvm");
  } catch {
    return { ok: false, reason: "/dev/kvm does not exist" };
  }
  const timeoutMs = o.timeoutMs ?? (o.boot ? 20_000 : 3_000);
  const dir = await mkdtemp(join(tmpdir(), "vacfg-kvm-probe-"));
  const serial = join(dir, "serial.log");
  const args = ["-machine", "q35,accel=kvm", "-cpu", "host", "-m", "256", "-smp", "1", "-nodefaults", "-no-user-config",
    "-display", "none", "-no-reboot", "-serial", `file:${serial}`];
  if (o.boot) args.push("-kernel", o.boot.kernel, "-initrd", o.boot.initrd, "-append", "console=ttyS0 panic=-1 quiet loglevel=3");
  const child = spawn(qemu, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal }));
    child.on("error", (e) => { stderr += e.message; resolve({ code: -1, signal: null }); });
  });
  let done = false;
  const markerSeen = (async () => {
    while (!done) {
      const text = await readFile(serial, "utf8").catch(() => "");
      if (o.boot && text.includes(o.boot.marker)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  })();
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs));
  try {
    const first = await Promise.race([exited, markerSeen, timeout]);
    if (first === true) return { ok: true };
    if (first === "timeout") {
      if (!o.boot) return { ok: true };
      return { ok: false, reason: `KVM guest did not reach its boot marker within ${timeoutMs} ms` };
    }
    const e = first as { code: number | null; signal: string | null };
    return { ok: false, reason: `qemu -accel kvm died (exit ${e.code ?? e.signal}): ${stderr.trim().split("\n").slice(-2).join(" | ")}` };
  } finally {
    done = true;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    await markerSeen;
    await rm(dir, { recursive: true, force: true });
  }
}
