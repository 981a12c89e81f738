// `vacfg demo cluster` and the end-to-end test: the paper's five-node cluster deployed by the
// Workspace Service from the Figure 1 parameters, really booted under QEMU in a private network
// namespace, each node contextualized by its agent against a configuration server on the
// namespace bridge into a Slurm head (the first of the signed nodenames) and four workers; the
// head runs `srun -N4 hostname` and logs in to each worker over ssh, trusting the host keys the
// deployment delivered; then pause/reactivate, TTL expiry and shutdown. The workspace shares the
// configuration server's store, so every node's readiness (its first clean run) is measured too.
import { randomBytes } from "node:crypto";
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CTX_SIGNING_KEY, ensureCtxSigningKey, publicKeyPathFor } from "../server/admin/ctx-signing-key.js";
import { createCa, issueCertificate } from "../server/admin/tls-material.js";
import { openStore } from "../server/store/open-store.js";
import { BOOT_MARKER } from "../hypervisor/appliance/boot-protocol.js";
import { resolveCacheDir, type Progress } from "../hypervisor/appliance/cache.js";
import { CLUSTER_PACKAGES } from "../hypervisor/appliance/rootfs.js";
import { writeSiteCa } from "../hypervisor/ctx/site-ca.js";
import { createNetns, destroyNetns } from "../hypervisor/vm/netns.js";
import { waitForSerial } from "../hypervisor/vm/serial.js";
import { ensureAgentAppliance } from "../hypervisor/workspace/agent-appliance.js";
import { buildAgentPackage } from "../packaging/packages.js";
import { defaultDrivers, pickDriver } from "../hypervisor/workspace/drivers.js";
import { generateSshHostKey } from "../hypervisor/ctx/ssh-host-key.js";
import { clusterGuestScript, MARK, parseJobOutput, parseShownFiles, parseSshChecks } from "./guest-script.js";
import { guestAgentConfig } from "./agent-config.js";
import { startServerInNetns } from "./netns-server.js";
import { WorkspaceService } from "../hypervisor/workspace/service.js";
import { FIGURE1_CIDR, FIGURE1_USERS, TORQUE_CONTEXT_TEMPLATE, figure1Site } from "./torque-appliance.js";
import { KIND, type GuestFileSpec, type VmRecord } from "../hypervisor/workspace/types.js";

export interface ClusterDemoOptions {
  /** Holds dist/ (the built agent) and node_modules/. */
  projectRoot: string;
  /** The repository the configuration server serves (copied first: the server registers clients). */
  repo: string;
  memoryMiB?: number;
  /** How long all five may take to contextualize (default 15 minutes: five TCG guests on a loaded host took 7). */
  contextTimeoutMs?: number;
  /** How long the job may take after that (default 6 minutes). */
  jobTimeoutMs?: number;
  progress?: Progress;
}

export interface NodeResult {
  vm: string;
  fqdn: string;
  address: string;
  mac: string;
  /** Shown files (path, or "passwd" for the cluster users' lines) as the guest printed them. */
  files: Map<string, string>;
  agentRuns: string[];
  /** Milliseconds from the start of deploy until this node printed its results. */
  contextualizedMs: number;
  /** Milliseconds from the start of deploy until its first clean run reached the server (readiness). */
  readyMs?: number;
}

export interface ClusterDemoReport {
  driver: string;
  accel?: string;
  nodes: NodeResult[];
  /** Time deploy() took (leases, overlays, patching, boot start). */
  deployMs: number;
  /** From the start of deploy until all five were contextualized. */
  allContextualizedMs: number;
  /** The workspace's readiness: whether all five turned ready (first clean run), when, and any node's last error. */
  ready: { all: boolean; ms: number; errors: string[] };
  /** The head's ssh logins to the workers as the demo user (worker -> exit status and output). */
  ssh: Array<{ worker: string; exit: number; output: string }>;
  /** The Slurm job the head ran across the workers: its output lines (the head's console) and when it ended, from the start of deploy. */
  job: { command: string; output: string[]; exit: number; ms: number };
  pause: { observed: string[]; serialGrewWhilePaused: boolean; ticksAfterUnpause: boolean };
  ttl: { vm: string; reaped: string[]; phase: string; addressReleased: boolean; poweredOffGracefully: boolean };
  shutdown: { phases: string[]; poweredOffGracefully: boolean[]; stillListedByDriver: string[] };
  leasesAfterDestroy: number;
}

/** The deployment's name: its VMs are slurm-node1..slurm-node5. */
const DEPLOYMENT = "slurm";

/** The job the head submits: one task on each of the four workers. */
export const JOB_COMMAND = "srun -N4 hostname";

/** The user the head logs in to the workers as, and where the head holds that user's private key. */
export const SSH_USER = "alice";
const SSH_KEY_FILE = "/root/.ssh/demo-alice.key";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runClusterDemo(o: ClusterDemoOptions): Promise<ClusterDemoReport> {
  const progress = o.progress ?? (() => undefined);
  const cacheDir = await resolveCacheDir();
  const agentDeb = await mkdtemp(join(tmpdir(), "vdemo-deb-"));
  const image = await buildAgentPackage(o.projectRoot, agentDeb)
    .then((deb) => ensureAgentAppliance(deb.path, cacheDir, progress, { packages: CLUSTER_PACKAGES }))
    .finally(() => rm(agentDeb, { recursive: true, force: true }));
  // Short paths: QMP sockets live below and unix socket paths are limited to 107 bytes.
  const work = await mkdtemp(join(tmpdir(), "vdemo-"));
  const netnsName = `vacfg-slurm-${process.pid}`;
  const cleanups: Array<() => Promise<unknown>> = [() => rm(work, { recursive: true, force: true })];
  try {
    const names = [1, 2, 3, 4, 5].map((i) => `node${i}`);
    const fqdns = names.map((n) => `${n}.cluster`);
    const ns = await createNetns({ name: netnsName, cidr: FIGURE1_CIDR, taps: names.length, bridge: "br0", tapPrefix: "vtap" });
    cleanups.unshift(() => destroyNetns(netnsName));
    const bridgeIp = ns.bridgeAddress.split("/")[0];
    progress(`network namespace ${netnsName}: bridge ${ns.bridgeAddress}, taps ${ns.taps.join(" ")}`);

    // The configuration server, on the bridge address, with its own CA the guests are given.
    const serverDir = join(work, "server");
    await mkdir(serverDir);
    const repo = join(serverDir, "repo");
    await cp(o.repo, repo, { recursive: true });
    const serverCa = createCa("vacfg demo server CA");
    const serverCert = issueCertificate(serverCa, { cn: bridgeIp, altNames: [bridgeIp], usage: "server" });
    const password = randomBytes(12).toString("base64url");
    // The site's parameter signing key: the workspace signs each node's parameters, the server
    // derives the head/worker groups only from parameters that verify with the public half.
    const siteDir = join(work, "site");
    await mkdir(siteDir);
    const signingKey = join(siteDir, CTX_SIGNING_KEY);
    ensureCtxSigningKey(signingKey);
    const contextKeys = [await readFile(publicKeyPathFor(signingKey), "utf8")];
    const server = await startServerInNetns(netnsName, { repo, dataDir: serverDir, host: bridgeIp, password, tls: { cert: serverCert.certPem, key: serverCert.keyPem, ca: serverCa.certPem }, contextKeys, logLevel: "info" });
    cleanups.unshift(() => server.stop());
    progress(`configuration server ${server.url} (pid ${server.pid}) serving a copy of ${o.repo}`);

    // The workspace: store, driver by availability, the Torque appliance, the site of Figure 1.
    const siteCa = writeSiteCa(join(siteDir, "ca"), { commonName: "cluster site CA" });
    // The server's own store: the agents' runs in it make the nodes ready.
    const store = await openStore(`sqlite:${join(serverDir, "store.db")}`);
    cleanups.unshift(() => store.close());
    const drivers = defaultDrivers({ stateDir: join(work, "d"), netns: netnsName, kvmBoot: { kernel: image.vmlinuz, initrd: image.initrd, marker: BOOT_MARKER }, kvmCacheFile: join(cacheDir, "kvm-verdict.json") });
    const driver = await pickDriver(drivers);
    const accel = "accel" in driver ? await (driver as unknown as { accel(): Promise<string> }).accel() : undefined;
    progress(`driver: ${driver.name}${accel ? ` (${accel})` : ""}`);
    const ws = new WorkspaceService({
      store,
      driver,
      drivers,
      site: figure1Site(siteCa, signingKey),
      appliances: { cluster: { template: TORQUE_CONTEXT_TEMPLATE, base: image.base, kernel: image.vmlinuz, initrd: image.initrd } },
      stateDir: join(work, "vms"),
      network: { taps: ns.taps },
      runs: store,
    });
    cleanups.unshift(() => ws.destroy(DEPLOYMENT).catch(() => undefined));

    // The head runs one job across every worker once they are idle, as a user of the cluster would,
    // then logs in to each worker as alice, whose key pair the demo makes (Figure 1's key is a
    // placeholder): the public half is her `users` parameter, the private half is put on the head.
    const userKey = generateSshHostKey(`${SSH_USER}@cluster-demo`);
    const users = FIGURE1_USERS.map((u) => (u.name === SSH_USER ? { name: u.name, value: userKey.publicKey.trim() } : u));
    const script = clusterGuestScript({ job: { nodes: names.length - 1, command: JOB_COMMAND }, ssh: { user: SSH_USER, keyFile: SSH_KEY_FILE } });
    const common: GuestFileSpec[] = [
      { path: "/etc/vacfg/server-ca.pem", content: serverCa.certPem },
      { path: "/etc/vacfg/boot.sh", content: script, mode: 0o755 },
    ];
    // Every node gets the same kind of agent configuration: the server derives the head (the first of
    // the signed nodenames) and the workers from the parameters, nobody asserts a profile.
    const nodeFiles = Object.fromEntries(
      names.map((n, i) => [n, [
        { path: "/etc/vacfg.conf", content: guestAgentConfig(server.url, fqdns[i], password), mode: 0o600 },
        ...(i === 0 ? [{ path: SSH_KEY_FILE, content: userKey.privateKey, mode: 0o600 }] : []),
      ]]),
    );
    const t0 = Date.now();
    const dep = await ws.deploy({
      name: DEPLOYMENT,
      appliance: "cluster",
      instance: { names, users },
      resources: { memoryMiB: o.memoryMiB ?? 320, vcpus: 1 },
      ttlSeconds: 3600,
      files: common,
      nodeFiles,
      command: "sh /etc/vacfg/boot.sh",
    });
    const deployMs = Date.now() - t0;
    progress(`deployed ${dep.vms.map((v) => `${v.name}=${v.address}`).join(" ")} in ${(deployMs / 1000).toFixed(1)} s; waiting for the agents`);

    const timeout = o.contextTimeoutMs ?? 15 * 60_000;
    const vmGone = (name: string) => async () => !(await driver.list()).some((s) => s.name === name);
    const readiness = ws.waitReady(DEPLOYMENT, { timeoutMs: timeout, pollMs: 2000 });
    readiness.catch(() => undefined); // awaited below; a failure before that must not go unhandled
    const nodes = await Promise.all(
      dep.vms.map(async (vm): Promise<NodeResult> => {
        const log = await waitForSerial(vm.serialLog, MARK.done, { timeoutMs: timeout, pollMs: 1000, abort: vmGone(vm.name) });
        const ms = Date.now() - t0;
        progress(`${vm.fqdn} contextualized after ${(ms / 1000).toFixed(1)} s`);
        return {
          vm: vm.name,
          fqdn: vm.fqdn,
          address: vm.address!,
          mac: vm.mac,
          files: parseShownFiles(log),
          agentRuns: log.split("\n").filter((l) => l.startsWith(MARK.agentRun)).map((l) => l.trim()),
          contextualizedMs: ms,
        };
      }),
    );
    const allContextualizedMs = Math.max(...nodes.map((n) => n.contextualizedMs));
    progress(`all ${nodes.length} contextualized ${(allContextualizedMs / 1000).toFixed(1)} s after deploy started`);
    const w = await readiness;
    for (const v of w.vms) {
      const at = v.readiness?.contextualizedAt;
      const n = nodes.find((x) => x.vm === v.name);
      if (n && at !== undefined) n.readyMs = at - t0;
    }
    const ready = {
      all: w.ready,
      ms: Math.max(...w.vms.map((v) => (v.readiness?.contextualizedAt ?? Date.now()) - t0)),
      errors: w.vms.filter((v) => v.readiness?.state !== "ready").map((v) => `${v.name}: ${v.readiness?.lastError ?? "not ready"}`),
    };
    progress(ready.all ? `all ${w.vms.length} ready (first clean run) ${(ready.ms / 1000).toFixed(1)} s after deploy started` : `not ready: ${ready.errors.join("; ")}`);

    // The job the head ran on the workers, read from the head's console.
    const head = dep.vms[0];
    const headLog = await waitForSerial(head.serialLog, MARK.jobEnd, { timeoutMs: o.jobTimeoutMs ?? 6 * 60_000, pollMs: 1000, abort: vmGone(head.name) });
    const jobMs = Date.now() - t0;
    const ran = parseJobOutput(headLog);
    const job = { command: JOB_COMMAND, output: ran?.lines ?? [], exit: ran?.exit ?? -1, ms: jobMs };
    progress(`${head.fqdn}: ${JOB_COMMAND} exited ${job.exit} ${(jobMs / 1000).toFixed(1)} s after deploy started:\n${job.output.map((l) => `    ${l}`).join("\n")}`);
    const sshLog = await waitForSerial(head.serialLog, MARK.sshEnd, { timeoutMs: 5 * 60_000, pollMs: 1000, abort: vmGone(head.name) });
    const ssh = [...(parseSshChecks(sshLog) ?? new Map<string, { exit: number; output: string }>())].map(([worker, r]) => ({ worker, ...r }));
    progress(`${head.fqdn}: ssh ${SSH_USER}@WORKER hostname (batch mode, strict host key checking): ${ssh.map((r) => `${r.worker} exit ${r.exit} "${r.output}"`).join(", ")}`);

    // Pause the whole cluster: the hypervisor reports it paused and the guests' heartbeat stops.
    await ws.pause(DEPLOYMENT);
    const observed = (await ws.status(DEPLOYMENT)).map((r) => r.observed ?? "?");
    const sizes = async () => Promise.all(dep.vms.map(async (v) => (await stat(v.serialLog)).size));
    const before = await sizes();
    await sleep(6000);
    const after = await sizes();
    const serialGrewWhilePaused = after.some((s, i) => s !== before[i]);
    await ws.unpause(DEPLOYMENT);
    let ticksAfterUnpause = true;
    for (const [i, v] of dep.vms.entries()) {
      try {
        await waitForSerial(v.serialLog, (t) => t.length > after[i] && t.slice(after[i]).includes(MARK.tick), { timeoutMs: 60_000, pollMs: 500 });
      } catch {
        ticksAfterUnpause = false;
      }
    }
    progress(`pause: driver saw [${observed.join(", ")}], serial ${serialGrewWhilePaused ? "grew" : "silent"} while paused, heartbeat ${ticksAfterUnpause ? "back" : "missing"} after reactivation`);

    // TTL: the last worker's time runs out; the reaper shuts it down and releases its address.
    const last = dep.vms[dep.vms.length - 1];
    await ws.setTtl(last.name, 1);
    await sleep(1100);
    const reaped = await ws.reap();
    const lastRec = (await store.get<VmRecord>(KIND.vm, last.name))!;
    const addressReleased = (await store.get(KIND.address, `${last.pool}/${last.address}`)) === undefined;
    const lastLog = await readFile(last.serialLog, "utf8");
    progress(`TTL: reaped [${reaped.join(", ")}], ${last.name} is ${lastRec.phase}, address ${last.address} ${addressReleased ? "released" : "still leased"}`);

    // Shutdown of the rest of the group: each guest powers off on the ACPI request.
    const down = await ws.shutdown(DEPLOYMENT);
    const logs = await Promise.all(dep.vms.slice(0, -1).map((v) => readFile(v.serialLog, "utf8")));
    const stillListed = (await driver.list()).map((s) => s.name);
    progress(`shutdown: ${down.map((r) => `${r.name}=${r.phase}`).join(" ")}`);

    await ws.destroy(DEPLOYMENT);
    const leasesAfterDestroy = (await store.list(KIND.address)).length + (await store.list(KIND.mac)).length + (await store.list(KIND.tap)).length;
    return {
      driver: driver.name,
      accel,
      nodes,
      deployMs,
      allContextualizedMs,
      ready,
      ssh,
      job,
      pause: { observed, serialGrewWhilePaused, ticksAfterUnpause },
      ttl: { vm: last.name, reaped, phase: lastRec.phase, addressReleased, poweredOffGracefully: lastLog.includes(MARK.powerdown) },
      shutdown: { phases: down.map((r) => r.phase), poweredOffGracefully: logs.map((l) => l.includes(MARK.powerdown)), stillListedByDriver: stillListed },
      leasesAfterDestroy,
    };
  } catch (e) {
    // The guests' consoles are the only record of what went wrong inside them: keep them.
    const kept = await keepSerialLogs(join(work, "vms"));
    if (kept) (e as Error).message += ` (the guests' serial logs are kept in ${kept})`;
    throw e;
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}

/** Copies the VMs' serial logs out of the demo's work directory (deleted on exit); the copy's path, or undefined. */
async function keepSerialLogs(vmsDir: string): Promise<string | undefined> {
  const logs = (await readdir(vmsDir).catch(() => [] as string[])).filter((f) => f.endsWith(".serial.log"));
  if (logs.length === 0) return undefined;
  const dest = await mkdtemp(join(tmpdir(), "vacfg-slurm-logs-"));
  for (const f of logs) await copyFile(join(vmsDir, f), join(dest, f));
  return dest;
}
