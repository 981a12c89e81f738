// A Debian root booted with systemd as init in a container (systemd-nspawn, its own network
// namespace), for tests that install packages and check their units really run. The host needs no
// systemd: nspawn runs unregistered (--register=no --keep-unit), and commands enter the container's
// namespaces with nsenter. The root is Debian trixie (systemd 257, nodejs 20 from Debian), built once
// by debootstrap and cached under the appliance cache (hypervisor/appliance/rootfs.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { runChecked, runTool, type ToolResult } from "../lib/host-tools.js";
import { resolveCacheDir, stderrProgress } from "../hypervisor/appliance/cache.js";
import { debianMirrorFor } from "../hypervisor/appliance/apt-mirror.js";
import { ensureRootfsTarball } from "../hypervisor/appliance/rootfs.js";

export const CONTAINER_SUITE = "trixie";
const PACKAGES = ["nodejs", "ca-certificates", "systemd", "systemd-sysv", "dbus"];

export interface BootedContainer {
  name: string;
  root: string;
  /** Runs `sh -c SCRIPT` inside the container (as root, in all its namespaces). */
  sh(script: string, timeoutMs?: number): Promise<ToolResult>;
  /** Like sh, but throws with the output unless it exits 0; resolves with stdout. */
  shOk(script: string, timeoutMs?: number): Promise<string>;
  /** Powers the container off (systemd shuts its units down) and waits for nspawn to exit. */
  poweroff(): Promise<void>;
}

/** The cached trixie root with systemd, unpacked into a fresh directory (removed by removeRoot). */
export async function unpackSystemdRoot(): Promise<string> {
  const hostSuite = /^VERSION_CODENAME=(\S+)$/m.exec(await readFile("/etc/os-release", "utf8"))?.[1] ?? "bookworm";
  // The host's apt sources name its own suite; the same mirror serves trixie.
  const mirror = await debianMirrorFor(hostSuite);
  const tarball = await ensureRootfsTarball(await resolveCacheDir(), { suite: CONTAINER_SUITE, packages: PACKAGES, mirror }, stderrProgress);
  const root = await mkdtemp(join(tmpdir(), "vacfg-service-root-"));
  await runChecked("tar", ["-xzf", tarball, "-C", root, "--numeric-owner"], { code: "IMAGE", timeoutMs: 300_000 });
  // What an installed system has and minbase does not: a host name that resolves.
  await writeFile(join(root, "etc/hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost\n");
  return root;
}

export async function removeRoot(root: string): Promise<void> {
  await runChecked("rm", ["-rf", "--one-file-system", root]).catch(() => undefined);
}

function children(pid: number): Promise<number[]> {
  return readFile(`/proc/${pid}/task/${pid}/children`, "utf8").then(
    (t) => t.split(/\s+/).filter(Boolean).map(Number),
    () => [],
  );
}

/** The container's PID 1: the process under nspawn that is PID 1 in its own namespace. */
async function containerInit(nspawn: ChildProcess, deadline: number): Promise<number> {
  while (Date.now() < deadline) {
    const todo = await children(nspawn.pid!);
    for (let i = 0; i < todo.length && i < 50; i++) {
      const nspid = /^NSpid:\s+(.*)$/m.exec(await readFile(`/proc/${todo[i]}/status`, "utf8").catch(() => ""))?.[1]?.trim().split(/\s+/);
      if (nspid && nspid.length > 1 && nspid[nspid.length - 1] === "1") return todo[i];
      todo.push(...(await children(todo[i])));
    }
    if (nspawn.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the container's init did not start");
}

/** Boots `root` (hostname `name`) and resolves once systemd reports the system up (running or degraded). */
export async function bootContainer(root: string, name: string, log: string[] = []): Promise<BootedContainer> {
  await writeFile(join(root, "etc/hostname"), `${name}\n`);
  const nspawn = spawn("systemd-nspawn", ["--quiet", "--keep-unit", "--register=no", "--private-network", `--machine=${name}`, "-D", root, "--boot"], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((r) => nspawn.once("exit", () => r()));
  nspawn.stdout!.on("data", (c: Buffer) => log.push(c.toString()));
  nspawn.stderr!.on("data", (c: Buffer) => log.push(c.toString()));
  const init = await containerInit(nspawn, Date.now() + 60_000);
  const sh = (script: string, timeoutMs = 120_000): Promise<ToolResult> => runTool("nsenter", ["-t", String(init), "-m", "-u", "-i", "-n", "-p", "--", "/bin/sh", "-c", script], { timeoutMs });
  const shOk = async (script: string, timeoutMs?: number): Promise<string> => {
    const r = await sh(script, timeoutMs);
    if (r.code !== 0) throw new Error(`in ${name}: ${script}\nexit ${r.code}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  // is-system-running --wait returns once start-up finished; "offline" until PID 1 answers at all.
  let state = "offline";
  for (const until = Date.now() + 120_000; Date.now() < until; await new Promise((r) => setTimeout(r, 300))) {
    state = (await sh("systemctl is-system-running --wait", 120_000)).stdout.trim();
    if (state !== "offline" && state !== "") break;
  }
  const poweroff = async (): Promise<void> => {
    if (nspawn.exitCode === null) {
      await sh("systemctl poweroff --no-block").catch(() => undefined);
      const killer = setTimeout(() => nspawn.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(killer);
    }
    // nspawn cannot delete this itself when /run is not a tmpfs (as here).
    await rm(`/run/systemd/nspawn/propagate/${name}`, { recursive: true, force: true });
  };
  if (state !== "running" && state !== "degraded") {
    const failed = (await sh("systemctl --failed --no-pager")).stdout;
    await poweroff();
    throw new Error(`${name} did not come up: ${state}\n${failed}`);
  }
  return { name, root, sh, shOk, poweroff };
}
