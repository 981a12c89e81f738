// The DHCP delivery's server: one dnsmasq per deployment on the bridge its VMs join (inside the
// workspace's network namespace when it has one), answering the deployment's MACs only, each with
// its address and, in the site option, the https location of its parameter file
// (hypervisor/ctx/dhcp.ts writes the configuration). dnsmasq daemonizes; its pid file is recorded
// in the deployment, so a later `vacfg vm destroy` (another process) stops it.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { VacfgError } from "../../protocol/errors.js";
import { writeFileAtomic } from "../../lib/atomic-file.js";
import { dnsmasqConfig, type DhcpPolicy } from "../ctx/dhcp.js";

export interface DnsmasqFiles {
  config: string;
  pidFile: string;
}

/** Writes the configuration and starts dnsmasq; a refusal (bad config, address in use) is a VM error with dnsmasq's words. */
export function startDnsmasq(policy: DhcpPolicy, files: DnsmasqFiles, netns?: string): void {
  const text = dnsmasqConfig(policy) + [
    `pid-file=${files.pidFile}`,
    // Addresses come from dhcp-host lines only: no lease database to keep.
    "leasefile-ro",
    "log-dhcp",
    "",
  ].join("\n");
  writeFileAtomic(files.config, text, { mode: 0o600 });
  const cmd = [...(netns ? ["ip", "netns", "exec", netns] : []), "dnsmasq", `--conf-file=${files.config}`];
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", timeout: 15_000 });
  if (r.error) throw new VacfgError("VM", `dnsmasq: ${r.error.message} (is dnsmasq installed?)`, { cause: r.error });
  if (r.status !== 0) throw new VacfgError("VM", `dnsmasq for the DHCP delivery refused to start (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the dnsmasq whose pid file this is (only that process), then removes its files. */
export async function stopDnsmasq(files: DnsmasqFiles): Promise<void> {
  const pid = existsSync(files.pidFile) ? Number(readFileSync(files.pidFile, "utf8").trim()) : NaN;
  // The pid file must name a dnsmasq: a stale file must not make us signal whatever reused the pid.
  const isDnsmasq = Number.isInteger(pid) && pid > 1 && existsSync(`/proc/${pid}/comm`) && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "dnsmasq";
  if (isDnsmasq) {
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  await rm(files.pidFile, { force: true });
  await rm(files.config, { force: true });
}
