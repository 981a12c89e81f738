// Choosing the VM driver by availability: Xen when `xl` works on this host, else QEMU (KVM when
// it really works, TCG otherwise; decided inside the QEMU driver).
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { QemuDriver } from "../qemu/qemu-driver.js";
import type { VmDriver } from "../vm/driver.js";
import { XlDriver } from "../xen/xl-driver.js";

export interface DefaultDriverOptions {
  /** Driver state (QEMU pid/QMP sockets, xl configs). Keep it short: unix socket paths max 107 bytes. */
  stateDir: string;
  /** QEMU only: run the VMs in this network namespace. */
  netns?: string;
  /** QEMU only: force an accelerator instead of probing KVM. */
  accel?: "kvm" | "tcg" | "auto";
  /** QEMU only: a guest for the KVM trial boot (see probeKvm); without one KVM is judged by survival alone. */
  kvmBoot?: { kernel: string; initrd: string; marker: string };
  /** QEMU only: where the KVM verdict is cached (an existing directory; default: no cache). */
  kvmCacheFile?: string;
}

/** Xen first, then QEMU: the order pickDriver tries. */
export function defaultDrivers(o: DefaultDriverOptions): VmDriver[] {
  return [
    new XlDriver({ configDir: join(o.stateDir, "xl") }),
    new QemuDriver({ stateDir: join(o.stateDir, "qemu"), netns: o.netns, accel: o.accel, kvmProbe: { ...(o.kvmCacheFile ? { cacheFile: o.kvmCacheFile } : {}), ...(o.kvmBoot ? { boot: o.kvmBoot } : {}) } }),
  ];
}

/** The first driver whose available() says ok; the error lists why each one cannot run. */
export async function pickDriver(candidates: VmDriver[]): Promise<VmDriver> {
  const why: string[] = [];
  for (const d of candidates) {
    const a = await d.available();
    if (a.ok) return d;
    why.push(`${d.name}: ${a.reason ?? "unavailable"}`);
  }
  throw new VacfgError("VM", `no VM driver can run here (${why.join("; ")})`);
}
