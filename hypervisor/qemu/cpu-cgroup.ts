// A QEMU VM's CPU weight and cap as a cgroup of its own: Xen credit-scheduler values mapped to
// cgroup v2 (cpu.weight, cpu.max) or v1 (cpu.shares, cpu.cfs_quota_us), the cgroup created
// before QEMU starts (QEMU is launched inside it), and removed when the VM is destroyed.
import { readFileSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import type { VmSpec } from "../vm/driver.js";

/** Xen's default credit weight: the value that means "no preference". */
export const XEN_DEFAULT_WEIGHT = 256;
/** CFS bandwidth period for caps; 100 ms is the kernel's default. */
export const CFS_PERIOD_US = 100_000;
/** Parent cgroup of every VM cgroup, directly under the cpu controller's mount. */
export const CGROUP_PARENT = "vacfg";

export type CpuLimitSpec = Pick<VmSpec, "cpuWeight" | "cpuCap">;

export interface CpuController {
  version: 1 | 2;
  /** Mount point of the hierarchy that carries the cpu controller. */
  mount: string;
}

export interface CpuCgroup {
  version: 1 | 2;
  /** The VM's cgroup directory. */
  path: string;
  /** File a process writes its pid into to join (cgroup.procs: in v1 it moves the whole thread group). */
  procsFile: string;
}

export interface CpuCgroupOptions {
  /** Where mounts are read from; default /proc/self/mountinfo. */
  mountinfo?: string;
}

function fail(field: string, why: string): never {
  throw new VacfgError("VM", `VmSpec.${field}: ${why}`);
}

/** The fields a refusal names: whichever of weight and cap were asked for. */
function requestedFields(spec: CpuLimitSpec): string {
  const f: string[] = [];
  if (spec.cpuWeight !== undefined && spec.cpuWeight !== XEN_DEFAULT_WEIGHT) f.push("cpuWeight");
  if ((spec.cpuCap ?? 0) > 0) f.push("cpuCap");
  return f.join("/");
}

function checkLimits(spec: CpuLimitSpec): { weight: number; cap: number } {
  const { cpuWeight: w = XEN_DEFAULT_WEIGHT, cpuCap: c = 0 } = spec;
  if (typeof w !== "number" || !Number.isInteger(w) || w < 1 || w > 65535) fail("cpuWeight", `must be an integer 1..65535 (Xen credit weight), got ${String(w)}`);
  if (typeof c !== "number" || !Number.isInteger(c) || c < 0 || c > 51200) fail("cpuCap", `must be an integer percentage 0..51200 (0 = no cap), got ${String(c)}`);
  return { weight: w, cap: c };
}

/** True when the spec asks for anything but the defaults, i.e. when a cgroup is needed. */
export function cpuLimitsRequested(spec: CpuLimitSpec): boolean {
  const { weight, cap } = checkLimits(spec);
  return weight !== XEN_DEFAULT_WEIGHT || cap > 0;
}

/** cgroup v1 files: shares = weight*4 (256 -> the kernel default 1024); cap c% -> quota c/100 of a period. */
export function v1CpuValues(spec: CpuLimitSpec): Record<"cpu.shares" | "cpu.cfs_period_us" | "cpu.cfs_quota_us", string> {
  const { weight, cap } = checkLimits(spec);
  return {
    "cpu.shares": String(weight * 4),
    "cpu.cfs_period_us": String(CFS_PERIOD_US),
    "cpu.cfs_quota_us": cap > 0 ? String((cap * CFS_PERIOD_US) / 100) : "-1",
  };
}

/** cgroup v2 files: weight 256 -> 100 (the v2 default), clamped to 1..10000; cap as "quota period". */
export function v2CpuValues(spec: CpuLimitSpec): Record<"cpu.weight" | "cpu.max", string> {
  const { weight, cap } = checkLimits(spec);
  const w = Math.min(10_000, Math.max(1, Math.round((weight * 100) / XEN_DEFAULT_WEIGHT)));
  return { "cpu.weight": String(w), "cpu.max": `${cap > 0 ? (cap * CFS_PERIOD_US) / 100 : "max"} ${CFS_PERIOD_US}` };
}

export interface CgroupMount {
  fstype: "cgroup" | "cgroup2";
  mountPoint: string;
  /** Super options; for v1 they name the controllers bound to the hierarchy (e.g. cpu,cpuacct). */
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash in paths as octal. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The cgroup mounts listed in a /proc/<pid>/mountinfo text, in order. */
export function cgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    if (dash < 6 || fields.length < dash + 4) continue;
    const fstype = fields[dash + 1];
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    out.push({ fstype, mountPoint: unescapeMountPath(fields[4]), superOptions: fields[dash + 3].split(",") });
  }
  return out;
}

/**
 * The hierarchy carrying the cpu controller: a cgroup2 mount whose cgroup.controllers lists
 * cpu, else a v1 mount with cpu among its options. A controller is bound to one hierarchy
 * at a time, so at most one of the two can have it.
 */
export function findCpuController(opts: CpuCgroupOptions = {}): CpuController | undefined {
  const mounts = cgroupMounts(readFileSync(opts.mountinfo ?? "/proc/self/mountinfo", "utf8"));
  for (const m of mounts.filter((x) => x.fstype === "cgroup2")) {
    let controllers = "";
    try {
      controllers = readFileSync(join(m.mountPoint, "cgroup.controllers"), "utf8");
    } catch {
      continue;
    }
    if (controllers.trim().split(/\s+/).includes("cpu")) return { version: 2, mount: m.mountPoint };
  }
  const v1 = mounts.find((x) => x.fstype === "cgroup" && x.superOptions.includes("cpu"));
  return v1 ? { version: 1, mount: v1.mountPoint } : undefined;
}

/**
 * The cgroup directory name for a VM: characters outside [A-Za-z0-9_.-] become "_", and a
 * name that could clash with a control file (tasks, cpu.max, cgroup.procs, ...) gets "vm_".
 */
export function cgroupDirName(vmName: string): string {
  let n = vmName.replace(/[^A-Za-z0-9_.-]/g, "_");
  if (/^[a-z_]+\./.test(n) || ["tasks", "notify_on_release", "release_agent", "", ".", ".."].includes(n)) n = `vm_${n}`;
  return n;
}

function cgroupFor(ctl: CpuController, vmName: string): CpuCgroup {
  const path = join(ctl.mount, CGROUP_PARENT, cgroupDirName(vmName));
  return { version: ctl.version, path, procsFile: join(path, "cgroup.procs") };
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

function unusable(spec: CpuLimitSpec, why: string, cause?: unknown): never {
  throw new VacfgError("VM", `VmSpec.${requestedFields(spec)}: cannot be applied under QEMU: ${why}`, { cause });
}

async function procsOf(procsFile: string): Promise<number[]> {
  const text = await readFile(procsFile, "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).map(Number);
}

/** v2 children only get the cpu files when every ancestor enables cpu for its subtree. */
async function enableCpuForChildren(dir: string): Promise<void> {
  const current = await readFile(join(dir, "cgroup.subtree_control"), "utf8");
  if (!current.trim().split(/\s+/).includes("cpu")) await writeFile(join(dir, "cgroup.subtree_control"), "+cpu");
}

/**
 * Creates (or reuses, when empty) the VM's cgroup and writes its limits; undefined when the spec
 * asks for no limits. Refuses, naming cpuWeight/cpuCap, when the limits cannot be applied: no
 * cpu controller, no permission (not root, no delegation), or the cgroup holds live processes.
 */
export async function prepareCpuCgroup(vmName: string, spec: CpuLimitSpec, opts: CpuCgroupOptions = {}): Promise<CpuCgroup | undefined> {
  if (!cpuLimitsRequested(spec)) return undefined;
  const ctl = findCpuController(opts);
  if (!ctl) unusable(spec, `no cgroup hierarchy with the cpu controller is mounted (${opts.mountinfo ?? "/proc/self/mountinfo"}: no cgroup2 mount whose cgroup.controllers lists cpu, no cgroup v1 mount with the cpu option)`);
  const cg = cgroupFor(ctl, vmName);
  const values: Record<string, string> = ctl.version === 2 ? v2CpuValues(spec) : v1CpuValues(spec);
  try {
    if (ctl.version === 2) await enableCpuForChildren(ctl.mount);
    // Another VM's destroy may remove the shared parent between the two mkdirs: retry.
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(join(ctl.mount, CGROUP_PARENT), { recursive: true });
        if (ctl.version === 2) await enableCpuForChildren(join(ctl.mount, CGROUP_PARENT));
        await mkdir(cg.path);
        break;
      } catch (e) {
        if (errno(e) === "EEXIST") break;
        if (errno(e) !== "ENOENT" || attempt >= 5) throw e;
      }
    }
    const busy = await procsOf(cg.procsFile);
    if (busy.length > 0) unusable(spec, `cgroup ${cg.path} is in use by process(es) ${busy.join(", ")} (another VM of this name?)`);
    // v1 checks a quota against the period in force, so the period goes first.
    for (const [file, value] of Object.entries(values)) await writeFile(join(cg.path, file), value);
  } catch (e) {
    if (e instanceof VacfgError) throw e;
    const code = errno(e);
    const why = code === "EACCES" || code === "EPERM" || code === "EROFS"
      ? `cannot write the cgroup ${cg.path} (${code}): this needs root or a cgroup delegated to uid ${process.getuid?.()}`
      : `cgroup ${cg.path}: ${(e as Error).message}`;
    unusable(spec, why, e);
  }
  return cg;
}

/**
 * `[cmd, argv]` that runs the given command inside the cgroup: a shell joins it first and then
 * execs, so QEMU and every thread it creates start there (no window where vCPU threads run
 * unlimited, no per-thread moves in v1).
 */
export function launchInCgroup(cg: CpuCgroup, cmd: string, args: readonly string[]): [string, string[]] {
  return ["/bin/sh", ["-c", 'echo $$ > "$1" || exit 125; shift; exec "$@"', "vacfg-cgroup", cg.procsFile, cmd, ...args]];
}

/** The VM's cgroup if it exists (used to find it again at destroy, from any process). */
export function existingCpuCgroup(vmName: string, opts: CpuCgroupOptions = {}): CpuCgroup | undefined {
  const ctl = findCpuController(opts);
  if (!ctl) return undefined;
  const cg = cgroupFor(ctl, vmName);
  try {
    readFileSync(cg.procsFile);
    return cg;
  } catch {
    return undefined;
  }
}

/**
 * Removes the VM's cgroup (and the shared parent once empty). A just-killed QEMU can keep the
 * cgroup busy for a moment, so EBUSY is retried; live processes left inside are an error.
 */
export async function removeCpuCgroup(cg: CpuCgroup, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await rmdir(cg.path);
      break;
    } catch (e) {
      if (errno(e) === "ENOENT") break;
      if (errno(e) !== "EBUSY" || Date.now() > end) {
        const left = await procsOf(cg.procsFile);
        throw new VacfgError("VM", `qemu: cannot remove cgroup ${cg.path}: ${(e as Error).message}${left.length ? ` (processes ${left.join(", ")} still in it)` : ""}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  // Other VMs' cgroups keep the parent (ENOTEMPTY/EBUSY): it goes with the last one.
  await rmdir(join(cg.path, "..")).catch(() => undefined);
}
