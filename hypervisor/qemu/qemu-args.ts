// The qemu-system-x86_64 command line for a VmSpec. Kept apart from the driver so the exact
// arguments can be read and tested as data.
import type { VmSpec } from "../vm/driver.js";
import { validateVmSpec } from "../vm/spec.js";

export type Accel = "kvm" | "tcg";
export type Machine = "q35" | "pc";

export interface QemuLaunch {
  accel: Accel;
  machine: Machine;
  qmpSocket: string;
  pidFile: string;
  /** Detach once the VM is set up (the driver's mode); the probe runs QEMU in the foreground. */
  daemonize: boolean;
  /** Exit instead of rebooting, so a guest reboot ends the VM as xl's on_reboot=destroy would. */
  noReboot?: boolean;
}

/** QEMU option values are comma-separated key=value lists; a literal comma is written twice. */
export function qemuOptValue(v: string): string {
  return v.replace(/,/g, ",,");
}

/**
 * Guest addresses appended as vacfg.ip<N>= for direct-kernel boots (see NicSpec.address):
 * QEMU cannot configure a guest's address itself.
 */
function cmdlineWithAddresses(spec: VmSpec): string | undefined {
  const extra = spec.nics.flatMap((n, i) => (n.address ? [`vacfg.ip${i}=${n.address}`] : []));
  if (extra.length === 0) return spec.cmdline;
  return [spec.cmdline ?? "", ...extra].filter(Boolean).join(" ");
}

export function buildQemuArgs(spec: VmSpec, l: QemuLaunch): string[] {
  validateVmSpec(spec);
  const a: string[] = [
    "-name", `guest=${qemuOptValue(spec.name)},process=vacfg-${spec.name}`,
    "-machine", `${l.machine},accel=${l.accel}`,
    // With KVM the guest sees the host CPU; under TCG "max" emulates every feature QEMU can,
    // which keeps userlands built for newer x86-64 levels (e.g. Node) running.
    "-cpu", l.accel === "kvm" ? "host" : "max",
    "-m", String(spec.memoryMiB),
    "-smp", String(spec.vcpus),
    "-nodefaults", "-no-user-config", "-display", "none",
    "-chardev", `socket,id=qmp,path=${qemuOptValue(l.qmpSocket)},server=on,wait=off`,
    "-mon", "chardev=qmp,mode=control",
    "-pidfile", l.pidFile,
  ];
  if (spec.serialLog) a.push("-chardev", `file,id=serial0,path=${qemuOptValue(spec.serialLog)}`, "-serial", "chardev:serial0");
  else a.push("-serial", "null");
  for (const d of spec.disks) {
    // kind "phy" is a block device path; QEMU opens it the same way as an image file.
    a.push("-drive", `file=${qemuOptValue(d.path)},format=${d.format},if=virtio${d.readonly ? ",readonly=on" : ""}`);
  }
  if (spec.nics.length === 0) a.push("-nic", "none");
  for (const n of spec.nics) {
    if (n.tap) a.push("-nic", `tap,ifname=${n.tap},script=no,downscript=no,mac=${n.mac},model=virtio-net-pci`);
    else a.push("-nic", `user,restrict=on,mac=${n.mac},model=virtio-net-pci`);
  }
  if (spec.kernel) {
    a.push("-kernel", spec.kernel);
    if (spec.ramdisk) a.push("-initrd", spec.ramdisk);
    const cmdline = cmdlineWithAddresses(spec);
    if (cmdline) a.push("-append", cmdline);
  }
  if (l.noReboot ?? true) a.push("-no-reboot");
  if (l.daemonize) a.push("-daemonize");
  return a;
}
