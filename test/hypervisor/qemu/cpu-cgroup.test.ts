// cpuWeight/cpuCap under QEMU: the Xen -> cgroup mapping as data, and real busybox guests
// started inside their cgroup (v1 here, v2 where the host has it), the cap measured biting.
import { expect } from "chai";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { mkdir, rmdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import { bootCmdline } from "../../../hypervisor/appliance/boot-protocol.js";
import type { VmSpec } from "../../../hypervisor/vm/driver.js";
import { createNetns, destroyNetns } from "../../../hypervisor/vm/netns.js";
import { waitForSerial } from "../../../hypervisor/vm/serial.js";
import {
  CGROUP_PARENT, cgroupDirName, cgroupMounts, cpuLimitsRequested, findCpuController, prepareCpuCgroup, removeCpuCgroup,
  v1CpuValues, v2CpuValues, type CpuController,
} from "../../../hypervisor/qemu/cpu-cgroup.js";
import { QemuDriver } from "../../../hypervisor/qemu/qemu-driver.js";
import { isRoot, liveProcess, projectRoot, tempDir, testBootBits } from "../helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function refusal(f: () => unknown): VacfgError {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(VacfgError);
    expect((e as VacfgError).code).to.equal("VM");
    return e as VacfgError;
  }
  throw new Error("expected a refusal");
}

describe("hypervisor/qemu: cpuWeight/cpuCap mapped to cgroup values", () => {
  it("maps Xen weight 256 / no cap to the kernel defaults, and asks for no cgroup", () => {
    expect(cpuLimitsRequested({})).to.equal(false);
    expect(cpuLimitsRequested({ cpuWeight: 256, cpuCap: 0 })).to.equal(false);
    expect(cpuLimitsRequested({ cpuWeight: 257 })).to.equal(true);
    expect(cpuLimitsRequested({ cpuCap: 1 })).to.equal(true);
    expect(v1CpuValues({})).to.deep.equal({ "cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1" });
    expect(v2CpuValues({})).to.deep.equal({ "cpu.weight": "100", "cpu.max": "max 100000" });
  });

  it("maps weight to shares = 4w (v1) and round(100w/256) clamped to 1..10000 (v2); cap c% to c/100 of a 100 ms period", () => {
    const cases: Array<[number, number, string, string, string, string]> = [
      // weight, cap, v1 shares, v1 quota, v2 weight, v2 max
      [512, 20, "2048", "20000", "200", "20000 100000"],
      [1, 0, "4", "-1", "1", "max 100000"],
      [2, 1, "8", "1000", "1", "1000 100000"],
      [128, 50, "512", "50000", "50", "50000 100000"],
      [1000, 200, "4000", "200000", "391", "200000 100000"],
      [25600, 100, "102400", "100000", "10000", "100000 100000"],
      [65535, 51200, "262140", "51200000", "10000", "51200000 100000"],
    ];
    for (const [w, c, shares, quota, weight, max] of cases) {
      expect(v1CpuValues({ cpuWeight: w, cpuCap: c }), `w=${w} c=${c}`).to.deep.equal({ "cpu.shares": shares, "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": quota });
      expect(v2CpuValues({ cpuWeight: w, cpuCap: c }), `w=${w} c=${c}`).to.deep.equal({ "cpu.weight": weight, "cpu.max": max });
    }
  });

  it("refuses out-of-range or non-integer values, naming the field", () => {
    for (const w of [0, 65536, 1.5, -3, Number.NaN, "512" as unknown as number]) {
      expect(refusal(() => v1CpuValues({ cpuWeight: w })).message).to.match(/^VmSpec\.cpuWeight: must be an integer 1\.\.65535/);
      expect(refusal(() => cpuLimitsRequested({ cpuWeight: w })).message).to.match(/^VmSpec\.cpuWeight:/);
    }
    for (const c of [-1, 2.5, 51201, Number.POSITIVE_INFINITY]) {
      expect(refusal(() => v2CpuValues({ cpuCap: c })).message).to.match(/^VmSpec\.cpuCap: must be an integer percentage 0\.\.51200/);
    }
  });

  it("finds cgroup mounts in mountinfo text (v2 unified, v1 co-mounted, escaped paths)", () => {
    const text = [
      "25 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot",
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct",
      "40 31 0:37 / /mnt/cg\\040x rw,relatime - cgroup cgroup rw,name=systemd",
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
    ].join("\n");
    expect(cgroupMounts(text)).to.deep.equal([
      { fstype: "cgroup2", mountPoint: "/sys/fs/cgroup", superOptions: ["rw", "nsdelegate", "memory_recursiveprot"] },
      { fstype: "cgroup", mountPoint: "/sys/fs/cgroup/cpu,cpuacct", superOptions: ["rw", "cpu", "cpuacct"] },
      { fstype: "cgroup", mountPoint: "/mnt/cg x", superOptions: ["rw", "name=systemd"] },
    ]);
  });

  it("names the cgroup after the VM, kept clear of control-file names", () => {
    expect(cgroupDirName("web-1.cluster")).to.equal("web-1.cluster");
    expect(cgroupDirName("cpu.max")).to.equal("vm_cpu.max");
    expect(cgroupDirName("cgroup.procs")).to.equal("vm_cgroup.procs");
    expect(cgroupDirName("tasks")).to.equal("vm_tasks");
    expect(cgroupDirName("A b/../c")).to.equal("A_b_.._c");
  });
});

describe("hypervisor/qemu: cpuWeight/cpuCap applied to real QEMU guests through a cgroup", function () {
  this.timeout(300_000);
  let dir: { path: string; remove: () => Promise<void> };
  let driver: QemuDriver;
  let ctl: CpuController;
  let kernel: string;
  let initrd: string;
  // Unique per run: the cgroup path is host-wide, other test runs may boot VMs at the same time.
  const tag = `cg${process.pid}`;

  before(async function () {
    if (!isRoot()) throw new Error("cpu-cgroup tests must run as root: they create cgroups under the host's cpu controller (CI runs as root)");
    const found = findCpuController();
    if (!found) throw new Error("no cgroup hierarchy with the cpu controller in /proc/self/mountinfo: these tests need one (v1 cpu mount or cgroup2 with cpu)");
    ctl = found;
    const bits = await testBootBits();
    kernel = bits.vmlinuz;
    initrd = bits.initrd;
    dir = await tempDir("vcg-");
    driver = new QemuDriver({ stateDir: join(dir.path, "s"), accel: "tcg", shutdownTimeoutMs: 20_000 });
  });

  after(async () => {
    if (driver) for (const vm of await driver.list()) await driver.destroy(vm.name);
    await dir?.remove();
  });

  const guest = (name: string, command: string, extra: Partial<VmSpec> = {}): VmSpec => ({
    name, memoryMiB: 128, vcpus: 1, disks: [], nics: [], kernel, ramdisk: initrd,
    cmdline: bootCmdline({ command }), serialLog: join(dir.path, `${name}.log`), ...extra,
  });
  const cgPath = (vm: string) => join(ctl.mount, CGROUP_PARENT, cgroupDirName(vm));
  const read = (vm: string, file: string) => readFileSync(join(cgPath(vm), file), "utf8").trim();
  /** The cgroup a task is in, on the hierarchy carrying cpu (v1 "N:cpu,...:/path", v2 "0::/path"). */
  const cgroupOfTask = (procCgroupFile: string) => {
    for (const line of readFileSync(procCgroupFile, "utf8").split("\n")) {
      const [, controllers, path] = line.split(":");
      if (ctl.version === 2 ? line.startsWith("0::") : controllers?.split(",").includes("cpu")) return path;
    }
    return undefined;
  };
  /** utime + stime of the whole process (all threads), in seconds. */
  const cpuSeconds = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  };
  const throttled = (vm: string) => Number(/^nr_throttled (\d+)$/m.exec(read(vm, "cpu.stat"))?.[1] ?? NaN);

  it("starts QEMU and all its threads inside the cgroup with the mapped values; the 20% cap bites; destroy removes the cgroup", async () => {
    const name = `${tag}cap`;
    const spec = guest(name, "echo spin-start; while :; do :; done", { cpuCap: 20, cpuWeight: 512 });
    const h = await driver.create(spec);
    const pid = h.id!;
    expect(pid).to.be.a("number");
    if (ctl.version === 1) {
      expect(read(name, "cpu.shares")).to.equal("2048");
      expect(read(name, "cpu.cfs_period_us")).to.equal("100000");
      expect(read(name, "cpu.cfs_quota_us")).to.equal("20000");
    } else {
      expect(read(name, "cpu.weight")).to.equal("200");
      expect(read(name, "cpu.max")).to.equal("20000 100000");
    }
    await waitForSerial(spec.serialLog!, "spin-start", { timeoutMs: 180_000 });

    const rel = "/" + relative(ctl.mount, cgPath(name));
    expect(read(name, "cgroup.procs").split("\n").map(Number)).to.deep.equal([pid]);
    const tids = readdirSync(`/proc/${pid}/task`).map(Number);
    expect(tids.length).to.be.greaterThan(1); // main loop, vCPU, RCU, ... threads
    for (const tid of tids) expect(cgroupOfTask(`/proc/${pid}/task/${tid}/cgroup`), `thread ${tid}`).to.equal(rel);
    if (ctl.version === 1) expect(read(name, "tasks").split("\n").map(Number)).to.include.members(tids);

    // The guest spins; uncapped, TCG would take a whole CPU. Measured over a window it gets ~20%. The
    // window lasts until the guest used 0.6 CPU-s (3 s at the cap; longer when other processes take
    // the CPUs), so the sample is as large on a loaded machine as on an idle one.
    const throttledBefore = throttled(name);
    const c0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
    do await sleep(500);
    while (cpuSeconds(pid) - c0 < 0.6 && elapsed() < 120);
    const [cpu, wall] = [cpuSeconds(pid) - c0, elapsed()];
    const used = cpu / wall;
    console.log(`      capped guest: ${(used * 100).toFixed(1)}% of one CPU over ${wall.toFixed(1)} s (cap 20%), nr_throttled ${throttledBefore} -> ${throttled(name)}`);
    expect(throttled(name)).to.be.greaterThan(throttledBefore);
    expect(cpu, "CPU-s the guest ran").to.be.at.least(0.6);
    expect(used).to.be.at.most(0.3);

    await driver.destroy(name);
    expect(liveProcess(pid)).to.equal(false);
    expect(existsSync(cgPath(name))).to.equal(false);
    expect(await driver.list()).to.deep.equal([]);
  });

  it("weights share a contended CPU in proportion: weight 512 vs 128 on one pinned CPU gets ~4:1", async () => {
    const names = [`${tag}hi`, `${tag}lo`];
    const specs = [guest(names[0], "echo spin-start; while :; do :; done", { cpuWeight: 512 }), guest(names[1], "echo spin-start; while :; do :; done", { cpuWeight: 128 })];
    const pids: number[] = [];
    for (const s of specs) pids.push((await driver.create(s)).id!);
    for (const s of specs) await waitForSerial(s.serialLog!, "spin-start", { timeoutMs: 120_000 });
    // Both on CPU 0 (every thread), so they compete and the scheduler must divide it by weight.
    for (const pid of pids) execFileSync("taskset", ["-a", "-p", "-c", "0", String(pid)], { stdio: "ignore" });
    await sleep(500);
    // The window lasts until the two used 3 CPU-s between them (about 3 s of CPU 0; longer when other
    // processes take it), so the ratio is measured on as large a sample on a loaded machine.
    const c0 = pids.map(cpuSeconds);
    const used = () => pids.map((p, i) => cpuSeconds(p) - c0[i]);
    const t0 = Date.now();
    do await sleep(500);
    while (used()[0] + used()[1] < 3 && Date.now() - t0 < 120_000);
    const [hi, lo] = used();
    console.log(`      contended CPU 0 over ${((Date.now() - t0) / 1000).toFixed(1)} s: weight 512 -> ${hi.toFixed(2)} s, weight 128 -> ${lo.toFixed(2)} s (ratio ${(hi / lo).toFixed(2)}, shares 2048:512)`);
    expect(hi + lo, "CPU-s the two guests ran").to.be.at.least(3);
    expect(hi / lo).to.be.above(2.5).and.below(6);
    for (const n of names) await driver.destroy(n);
    for (const n of names) expect(existsSync(cgPath(n))).to.equal(false);
  });

  it("a weight-only guest gets shares but no quota; its cgroup outlives a guest power-off until destroy", async () => {
    const name = `${tag}w`;
    const spec = guest(name, "echo done-quickly", { cpuWeight: 64 });
    const h = await driver.create(spec);
    if (ctl.version === 1) {
      expect(read(name, "cpu.shares")).to.equal("256");
      expect(read(name, "cpu.cfs_quota_us")).to.equal("-1");
    } else {
      expect(read(name, "cpu.weight")).to.equal("25");
      expect(read(name, "cpu.max")).to.equal("max 100000");
    }
    expect(read(name, "cgroup.procs").split("\n").map(Number)).to.include(h.id!);
    await waitForSerial(spec.serialLog!, /reboot: Power down/, { timeoutMs: 60_000 });
    // Waited for through /proc, not QMP: QEMU 7.2 can hang in its exit when a QMP command arrives then.
    for (let i = 0; i < 600 && liveProcess(h.id!); i++) await sleep(100);
    expect(await driver.list()).to.deep.equal([{ name, state: "shutdown" }]);
    // QEMU removes its pid file just before it exits: give the exit a moment to finish.
    for (let i = 0; i < 200 && read(name, "cgroup.procs") !== ""; i++) await sleep(50);
    expect(read(name, "cgroup.procs")).to.equal("");
    expect(existsSync(cgPath(name))).to.equal(true);
    await driver.destroy(name);
    expect(existsSync(cgPath(name))).to.equal(false);
  });

  it("a capped guest run inside a network namespace (ip netns exec) is in its cgroup too", async () => {
    const name = `${tag}ns`;
    const nsName = `vacfg-cg${process.pid}`;
    await createNetns({ name: nsName, cidr: "10.213.9.0/24", taps: 0 });
    const inNs = new QemuDriver({ stateDir: join(dir.path, "ns"), accel: "tcg", netns: nsName });
    try {
      const h = await inNs.create(guest(name, "sleep 600", { cpuCap: 150 }));
      expect(readlinkSync(`/proc/${h.id}/ns/net`)).to.not.equal(readlinkSync("/proc/self/ns/net"));
      expect(read(name, "cgroup.procs").split("\n").map(Number)).to.deep.equal([h.id]);
      expect(read(name, ctl.version === 1 ? "cpu.cfs_quota_us" : "cpu.max")).to.equal(ctl.version === 1 ? "150000" : "150000 100000");
      await inNs.destroy(name);
      expect(existsSync(cgPath(name))).to.equal(false);
    } finally {
      for (const vm of await inNs.list()) await inNs.destroy(vm.name);
      await destroyNetns(nsName);
    }
  });

  it("default weight and no cap: no cgroup at all, QEMU stays where the driver runs", async () => {
    const name = `${tag}d`;
    const h = await driver.create(guest(name, "sleep 600", { cpuWeight: 256, cpuCap: 0 }));
    expect(existsSync(cgPath(name))).to.equal(false);
    expect(cgroupOfTask(`/proc/${h.id}/cgroup`)).to.equal(cgroupOfTask("/proc/self/cgroup"));
    await driver.destroy(name);
  });

  it("refuses, naming the field, when no cpu controller is mounted; nothing is started or left", async () => {
    // The host's real mountinfo minus any hierarchy carrying cpu (here: the unified one stays, without cpu).
    const lines = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => {
      const m = cgroupMounts(l)[0];
      return !m || (m.fstype === "cgroup" ? !m.superOptions.includes("cpu") : !readFileSync(join(m.mountPoint, "cgroup.controllers"), "utf8").split(/\s+/).includes("cpu"));
    });
    const mountinfo = join(dir.path, "mountinfo-without-cpu");
    writeFileSync(mountinfo, lines.join("\n"));
    const noCpu = new QemuDriver({ stateDir: join(dir.path, "nocpu"), accel: "tcg", cgroup: { mountinfo } });
    const err = await noCpu.create(guest(`${tag}n`, "sleep 600", { cpuCap: 20 })).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(VacfgError).and.include({ code: "VM" });
    expect((err as Error).message).to.match(/^VmSpec\.cpuCap: cannot be applied under QEMU: no cgroup hierarchy with the cpu controller/);
    expect(existsSync(join(dir.path, "nocpu", `${tag}n`))).to.equal(false);
    expect(await noCpu.list()).to.deep.equal([]);
    // Without limits the same driver boots as before.
    await noCpu.create(guest(`${tag}n`, "sleep 600"));
    expect((await noCpu.list()).map((v) => v.name)).to.deep.equal([`${tag}n`]);
    await noCpu.destroy(`${tag}n`);
  });

  it("refuses a non-root caller, naming the field and saying why", async () => {
    const module = join(projectRoot, "dist", "hypervisor", "qemu", "cpu-cgroup.js");
    const script = `const { prepareCpuCgroup } = await import(${JSON.stringify(module)});
      try { await prepareCpuCgroup(${JSON.stringify(`${tag}u`)}, { cpuWeight: 512 }); console.log("applied"); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "--input-type=module", "-e", script]);
      let text = "";
      child.stdout.on("data", (b: Buffer) => (text += b.toString()));
      child.stderr.on("data", (b: Buffer) => (text += b.toString()));
      child.on("error", reject);
      child.on("close", () => resolve(text));
    });
    const r = JSON.parse(out) as { code: string; message: string };
    expect(r.code).to.equal("VM");
    expect(r.message).to.match(/^VmSpec\.cpuWeight: cannot be applied under QEMU: cannot write the cgroup .*\((EACCES|EPERM)\): this needs root or a cgroup delegated to uid 65534/);
    expect(existsSync(cgPath(`${tag}u`))).to.equal(false);
  });

  it("refuses a cgroup that already holds a live process (a same-named VM elsewhere)", async () => {
    const name = `${tag}busy`;
    await mkdir(join(ctl.mount, CGROUP_PARENT), { recursive: true });
    await mkdir(cgPath(name), { recursive: true });
    const sleeper = spawn("/bin/sh", ["-c", 'echo $$ > "$1"; exec sleep 60', "sh", join(cgPath(name), "cgroup.procs")], { stdio: "ignore" });
    try {
      for (let i = 0; i < 50 && read(name, "cgroup.procs") === ""; i++) await sleep(20);
      const err = await prepareCpuCgroup(name, { cpuCap: 50 }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(VacfgError);
      expect((err as Error).message).to.match(new RegExp(`^VmSpec\\.cpuCap: cannot be applied under QEMU: cgroup .*${name} is in use by process\\(es\\) ${sleeper.pid}`));
    } finally {
      sleeper.kill("SIGKILL");
      await new Promise((r) => sleeper.once("close", r));
      await removeCpuCgroup({ version: ctl.version, path: cgPath(name), procsFile: join(cgPath(name), "cgroup.procs") });
    }
    expect(existsSync(cgPath(name))).to.equal(false);
  });

  after(async () => {
    // Nothing of ours may be left on the host's hierarchy, even after a failed assertion.
    const parent = ctl && join(ctl.mount, CGROUP_PARENT);
    if (!parent || !existsSync(parent)) return;
    for (const d of readdirSync(parent).filter((n) => n.startsWith(tag))) {
      for (const p of readFileSync(join(parent, d, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
        try { process.kill(Number(p), "SIGKILL"); } catch { /* already gone */ }
      }
      for (let i = 0; i < 100; i++) if (await rmdir(join(parent, d)).then(() => true, () => false)) break; else await sleep(50);
    }
    await rmdir(parent).catch(() => undefined);
  });
});
