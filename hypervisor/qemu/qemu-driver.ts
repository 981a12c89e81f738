// The QEMU VM driver: one daemonized qemu-system-x86_64 per VM (KVM when it really works, TCG
// otherwise), controlled over QMP; each VM's pid, QMP socket and spec live in a state directory,
// which is all list() needs, so VMs outlive the process that created them.
import { readFileSync } from "node:fs";
import { mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import type { Availability, VmDriver, VmHandle, VmSpec, VmState, VmStatus } from "../vm/driver.js";
import { runChecked, runTool } from "../../lib/host-tools.js";
import { inNetns } from "../vm/netns.js";
import { isValidVmName, validateVmSpec } from "../vm/spec.js";
import { existingCpuCgroup, launchInCgroup, prepareCpuCgroup, removeCpuCgroup, cpuLimitsRequested, type CpuCgroup, type CpuCgroupOptions } from "./cpu-cgroup.js";
import { probeKvm, type KvmProbeOptions } from "./kvm-probe.js";
import { buildQemuArgs, type Accel, type Machine } from "./qemu-args.js";
import { QmpClient, qmpOnce } from "./qmp.js";

export interface QemuDriverOptions {
  /** One sub-directory per VM: pid, qmp.sock, spec.json. Keep it short: unix socket paths are limited to 107 bytes. */
  stateDir: string;
  qemu?: string;
  machine?: Machine;
  /** "auto" (default) uses KVM only when probeKvm's trial boot succeeds. */
  accel?: Accel | "auto";
  kvmProbe?: KvmProbeOptions;
  /** Run every QEMU of this driver inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** How long shutdown() waits for the guest to power off before it quits QEMU. */
  shutdownTimeoutMs?: number;
  /** Where the cgroup used for cpuWeight/cpuCap is looked up (default: /proc/self/mountinfo). */
  cgroup?: CpuCgroupOptions;
}

interface VmFiles {
  dir: string;
  pidFile: string;
  qmpSocket: string;
  specFile: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class QemuDriver implements VmDriver {
  readonly name = "qemu";
  private readonly qemu: string;
  private accelChoice?: Promise<Accel>;

  constructor(private readonly opts: QemuDriverOptions) {
    this.qemu = opts.qemu ?? "qemu-system-x86_64";
  }

  async available(): Promise<Availability> {
    try {
      const r = await runTool(this.qemu, ["--version"], { timeoutMs: 10_000 });
      return r.code === 0 ? { ok: true } : { ok: false, reason: r.stderr.trim() || `exit ${r.code}` };
    } catch (e) {
      return { ok: false, reason: `${this.qemu}: ${(e as Error).message}` };
    }
  }

  /** The accelerator VMs get: decided once per driver (and cached on disk by the probe). */
  accel(): Promise<Accel> {
    if (this.opts.accel && this.opts.accel !== "auto") return Promise.resolve(this.opts.accel);
    this.accelChoice ??= probeKvm({ qemu: this.qemu, ...this.opts.kvmProbe }).then((v) => (v.ok ? "kvm" : "tcg"));
    return this.accelChoice;
  }

  private files(name: string): VmFiles {
    if (!isValidVmName(name)) throw new VacfgError("VM", `qemu: invalid VM name ${JSON.stringify(name)}`);
    const dir = join(this.opts.stateDir, name);
    return { dir, pidFile: join(dir, "pid"), qmpSocket: join(dir, "qmp.sock"), specFile: join(dir, "spec.json") };
  }

  private async pidOf(name: string): Promise<number | undefined> {
    const f = this.files(name);
    const pid = Number((await readFile(f.pidFile, "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    // The pid must still be this VM's QEMU, not a process that reused the number.
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    return cmdline.includes(`guest=${name}`) ? pid : undefined;
  }

  async create(spec: VmSpec): Promise<VmHandle> {
    validateVmSpec(spec);
    const f = this.files(spec.name);
    if (Buffer.byteLength(f.qmpSocket) > 107) throw new VacfgError("VM", `qemu: QMP socket path too long for a unix socket: ${f.qmpSocket}`);
    if (await this.pidOf(spec.name)) throw new VacfgError("VM", `qemu: VM ${spec.name} is already running`);
    // Weight and cap become a cgroup QEMU starts in; refused here, before anything exists, when impossible.
    const cg = await prepareCpuCgroup(spec.name, spec, this.opts.cgroup);
    await rm(f.dir, { recursive: true, force: true });
    await mkdir(f.dir, { recursive: true, mode: 0o700 });
    await writeFile(f.specFile, JSON.stringify(spec, null, 2) + "\n");
    const accel = await this.accel();
    const args = buildQemuArgs(spec, { accel, machine: this.opts.machine ?? "q35", qmpSocket: f.qmpSocket, pidFile: f.pidFile, daemonize: true });
    const [qcmd, qargv] = this.opts.netns ? inNetns(this.opts.netns, this.qemu, args) : [this.qemu, args];
    const [cmd, argv] = cg ? launchInCgroup(cg, qcmd, qargv) : [qcmd, qargv];
    try {
      // With -daemonize the parent exits only once the VM is set up, so setup errors arrive here.
      await runChecked(cmd, argv, { timeoutMs: 60_000 });
    } catch (e) {
      await rm(f.dir, { recursive: true, force: true });
      if (cg) await removeCpuCgroup(cg).catch(() => undefined);
      throw e;
    }
    const pid = await this.pidOf(spec.name);
    if (cg) await this.checkInCgroup(spec.name, pid, cg);
    return { name: spec.name, driver: this.name, id: pid, serialLog: spec.serialLog };
  }

  /** The limits must hold for the running QEMU, or the VM does not run at all. */
  private async checkInCgroup(name: string, pid: number | undefined, cg: CpuCgroup): Promise<void> {
    const members = (await readFile(cg.procsFile, "utf8").catch(() => "")).split("\n").map(Number);
    if (pid && members.includes(pid)) return;
    await this.destroy(name);
    throw new VacfgError("VM", `qemu: VM ${name}: QEMU (pid ${pid ?? "unknown"}) is not in its cgroup ${cg.path}; destroyed, since cpuWeight/cpuCap would not apply`);
  }

  private async qmp<T>(name: string, command: string, args?: Record<string, unknown>): Promise<T> {
    if (!(await this.pidOf(name))) throw new VacfgError("VM", `qemu: VM ${name} is not running`);
    return qmpOnce<T>(this.files(name).qmpSocket, command, args);
  }

  async pause(name: string): Promise<void> {
    await this.qmp(name, "stop");
  }

  async unpause(name: string): Promise<void> {
    await this.qmp(name, "cont");
  }

  async status(name: string): Promise<VmStatus> {
    const pid = await this.pidOf(name);
    if (!pid) return { name, state: await this.endedState(name) };
    const spec = JSON.parse(await readFile(this.files(name).specFile, "utf8").catch(() => "{}")) as Partial<VmSpec>;
    let state: VmState = "unknown";
    try {
      const s = await qmpOnce<{ status: string }>(this.files(name).qmpSocket, "query-status", undefined, 3000);
      state = mapRunState(s.status);
    } catch {
      // a QEMU that does not answer QMP is alive but in an unknown state
    }
    return { name, state, id: pid, memoryMiB: spec.memoryMiB, vcpus: spec.vcpus };
  }

  /**
   * How a VM whose QEMU no longer runs ended. QEMU deletes its pid file when it exits in order
   * (the guest powered off, or QMP quit); a pid file naming a dead process means QEMU never got
   * there: it was killed (SIGKILL, OOM killer) or crashed. Only this driver's own stop paths
   * remove the state directory, so both cases stay listed until destroy().
   */
  private async endedState(name: string): Promise<VmState> {
    const pidFileLeft = await stat(this.files(name).pidFile).then(() => true, () => false);
    return pidFileLeft ? "crashed" : "shutdown";
  }

  /**
   * The ACPI power button until the guest powers off, then QEMU's own exit; quit, then kill, at the
   * deadline. One QMP connection, silent from the guest's SHUTDOWN event on: QEMU 7.2 can hang in its
   * exit (monitor_cleanup) when a command arrives as the guest powers off.
   */
  async shutdown(name: string): Promise<void> {
    const pid = await this.pidOf(name);
    if (!pid) return this.cleanup(name);
    const deadline = Date.now() + (this.opts.shutdownTimeoutMs ?? 30_000);
    const socket = this.files(name).qmpSocket;
    const qmp = await QmpClient.connect(socket, 2000).catch(() => undefined);
    try {
      let lastPress = 0;
      while (Date.now() < deadline && processAlive(pid)) {
        // Pressed again every 2 s: a guest still booting has no acpid yet to hear the first press.
        if (Date.now() - lastPress >= 2000 && !qmp?.events.some((e) => e.event === "SHUTDOWN")) {
          lastPress = Date.now();
          if (qmp) qmp.execute("system_powerdown").catch(() => undefined);
          else await qmpOnce(socket, "system_powerdown", undefined, 2000).catch(() => undefined);
        }
        await sleep(100);
      }
    } finally {
      qmp?.close();
    }
    await this.destroy(name);
  }

  async destroy(name: string): Promise<void> {
    const pid = await this.pidOf(name);
    if (pid) {
      // quit closes the socket as it exits, so its reply may never arrive.
      await qmpOnce(this.files(name).qmpSocket, "quit", undefined, 2000).catch(() => undefined);
      if (!(await waitExit(pid, 3000))) {
        process.kill(pid, "SIGKILL");
        await waitExit(pid, 5000);
      }
    }
    await this.cleanup(name);
  }

  private async cleanup(name: string): Promise<void> {
    // Only a VM whose spec asked for limits owns a cgroup; a same-named VM elsewhere may hold one.
    const spec = JSON.parse(await readFile(this.files(name).specFile, "utf8").catch(() => "{}")) as Partial<VmSpec>;
    await rm(this.files(name).dir, { recursive: true, force: true });
    let limited = false;
    try {
      limited = cpuLimitsRequested(spec);
    } catch {
      // a spec.json with bad values was never started with a cgroup
    }
    const cg = limited ? existingCpuCgroup(name, this.opts.cgroup) : undefined;
    if (cg) await removeCpuCgroup(cg);
  }

  async list(): Promise<VmStatus[]> {
    const names = await readdir(this.opts.stateDir).catch(() => [] as string[]);
    const out: VmStatus[] = [];
    for (const n of names.filter(isValidVmName).sort()) out.push(await this.status(n));
    return out;
  }
}

/** QMP RunState -> driver state. */
export function mapRunState(status: string): VmState {
  switch (status) {
    case "running":
      return "running";
    case "paused":
    case "suspended":
      return "paused";
    case "shutdown":
      return "shutdown";
    case "internal-error":
    case "guest-panicked":
    case "io-error":
      return "crashed";
    default:
      return "unknown";
  }
}

/** Alive and not a zombie: a daemonized QEMU is re-parented, and not every init reaps promptly. */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!processAlive(pid)) return true;
    await sleep(50);
  }
  return !processAlive(pid);
}
