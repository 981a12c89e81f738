// Validation of a VmSpec before any driver turns it into configuration: bad names, MACs,
// sizes or paths are refused with the offending field named, never passed to a hypervisor.
import { VacfgError } from "../../protocol/errors.js";
import type { VmSpec } from "./driver.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d{1,2}))?$/;

function fail(field: string, why: string): never {
  throw new VacfgError("VM", `VmSpec.${field}: ${why}`);
}

function positiveInt(v: unknown, field: string, max: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) fail(field, `must be an integer 1..${max}, got ${String(v)}`);
}

/** Control characters and NULs cannot be represented safely in any backend's configuration. */
function plainText(v: string, field: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(v)) fail(field, "contains control characters");
}

export function isValidVmName(name: string): boolean {
  return NAME.test(name);
}

export function validateVmSpec(spec: VmSpec): void {
  if (!isValidVmName(spec.name)) fail("name", `must match ${NAME}, got ${JSON.stringify(spec.name)}`);
  positiveInt(spec.memoryMiB, "memoryMiB", 1 << 20);
  positiveInt(spec.vcpus, "vcpus", 512);
  if (spec.cpuWeight !== undefined) positiveInt(spec.cpuWeight, "cpuWeight", 65535);
  if (spec.cpuCap !== undefined && (!Number.isInteger(spec.cpuCap) || spec.cpuCap < 0 || spec.cpuCap > 100 * 512)) {
    fail("cpuCap", `must be an integer percentage >= 0, got ${spec.cpuCap}`);
  }
  spec.disks.forEach((d, i) => {
    if (!d.path.startsWith("/")) fail(`disks[${i}].path`, "must be absolute");
    plainText(d.path, `disks[${i}].path`);
    if (d.format !== "raw" && d.format !== "qcow2") fail(`disks[${i}].format`, "must be raw or qcow2");
    if (d.kind !== "file" && d.kind !== "phy") fail(`disks[${i}].kind`, "must be file or phy");
    if (d.target !== undefined && !/^(xvd|hd|sd|vd)[a-z]{1,3}[0-9]*$/.test(d.target)) fail(`disks[${i}].target`, `bad device name ${JSON.stringify(d.target)}`);
  });
  spec.nics.forEach((n, i) => {
    if (!MAC.test(n.mac)) fail(`nics[${i}].mac`, `not a MAC address: ${JSON.stringify(n.mac)}`);
    if ((parseInt(n.mac.slice(0, 2), 16) & 1) === 1) fail(`nics[${i}].mac`, "is a multicast address");
    if (n.bridge !== undefined && !IFNAME.test(n.bridge)) fail(`nics[${i}].bridge`, "not an interface name");
    if (n.tap !== undefined && !IFNAME.test(n.tap)) fail(`nics[${i}].tap`, "not an interface name");
    if (n.address !== undefined) {
      const m = CIDR.exec(n.address);
      if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || (m[6] !== undefined && Number(m[6]) > 32)) {
        fail(`nics[${i}].address`, `not an IPv4 address/prefix: ${JSON.stringify(n.address)}`);
      }
    }
  });
  for (const f of ["kernel", "ramdisk", "serialLog"] as const) {
    const v = spec[f];
    if (v !== undefined) {
      if (!v.startsWith("/")) fail(f, "must be an absolute path");
      plainText(v, f);
    }
  }
  if (spec.cmdline !== undefined) plainText(spec.cmdline, "cmdline");
  if (spec.pvgrub && spec.kernel) fail("pvgrub", "pvgrub and kernel are exclusive");
  if (spec.ramdisk && !spec.kernel) fail("ramdisk", "needs kernel");
}
