// The shell script a demo appliance runs after boot (stage 2 of the appliance boot protocol):
// watch the ACPI power button, run the agent until the node is contextualized, print what the
// agent made between markers on the serial console; the Slurm head then runs a job across the
// workers and prints its output, and logs in to each worker over ssh; then every node keeps
// printing a heartbeat.
import { GUEST_AGENT_COMMAND } from "../hypervisor/appliance/agent-package.js";

export const MARK = {
  agentRun: "VACFG-AGENT-RUN",
  fileBegin: "VACFG-FILE-BEGIN",
  fileEnd: "VACFG-FILE-END",
  done: "VACFG-CTX-DONE",
  jobBegin: "VACFG-JOB-BEGIN",
  jobEnd: "VACFG-JOB-END",
  sshBegin: "VACFG-SSH-BEGIN",
  sshEnd: "VACFG-SSH-END",
  tick: "VACFG-TICK",
  powerdown: "VACFG-POWERDOWN",
} as const;

/**
 * What the guest shows after contextualization: files, "passwd" (the cluster accounts' lines: uids
 * 2000-2999), "authorized_keys" (each home's, with mode and owner), "hostname" (the running
 * kernel's) and "services" (each daemon's init-script status).
 */
export const SHOWN_FILES = ["/etc/resolv.conf", "/etc/hostname", "/etc/slurm/slurm.conf", "/etc/ssh/ssh_known_hosts", "/etc/munge/munge.key", "passwd", "authorized_keys", "hostname", "services", "agent-log", "slurm-log"];

const SHOW: Record<string, string> = {
  passwd: "awk -F: '$3 >= 2000 && $3 < 3000' /etc/passwd",
  authorized_keys: `for f in /home/*/.ssh/authorized_keys; do [ -e "$f" ] && echo "$f $(stat -c '%a %U' "$f")" && sed 's/^/  /' "$f"; done`,
  hostname: "hostname",
  // the daemons' own status (init scripts), and the key's mode and owner rather than its bytes
  services: 'for s in munge ssh slurmctld slurmd; do if invoke-rc.d --quiet $s status >/dev/null 2>&1; then echo "$s running"; else echo "$s stopped"; fi; done',
  "/etc/munge/munge.key": "stat -c '%a %U:%G %s bytes' /etc/munge/munge.key 2>&1",
  // the end of the last agent run's log (-v: why each bad entry is bad)
  "agent-log": "tail -n 25 /var/log/vacfg-agent.log",
  // the Slurm daemons' own word when one does not run
  "slurm-log": "tail -n 8 /var/log/slurm/*.log 2>&1",
};

/**
 * The stage-2 root image has no init system, so nothing else answers the host's ACPI power-down
 * (QMP system_powerdown): wait for the first event of the "Power Button" input device, then
 * power off the way stage 2 does (sysrq).
 */
export const POWER_BUTTON_WATCH = `for d in /sys/class/input/event*; do
  if grep -q "Power Button" "$d/device/name" 2>/dev/null; then
    ( head -c 24 "/dev/input/\${d##*/}" >/dev/null && echo "${MARK.powerdown}" && sync && echo o > /proc/sysrq-trigger ) &
  fi
done`;

/** A login the head tries on every worker: as `user`, with the private key at `keyFile` on the head. */
export interface SshCheck {
  user: string;
  keyFile: string;
}

/**
 * Runs the agent until a run is clean (exit 0 with --exit-dirty; the server may not answer yet) or
 * `maxRuns` is reached, shows the node's files, and on the Slurm head (the node whose
 * /etc/hostname slurm.conf names as SlurmctldHost) waits until `job.nodes` workers are idle and
 * runs `job.command` (as root) between job markers, then with `ssh` runs `hostname` on each worker
 * (slurm.conf's NodeName lines) over ssh in batch mode with strict host key checking: only the
 * delivered known_hosts can make the worker's host key trusted.
 */
export function clusterGuestScript(o: { maxRuns?: number; retrySeconds?: number; job?: { nodes: number; command: string; waitSeconds?: number }; ssh?: SshCheck } = {}): string {
  const show = SHOWN_FILES.map((f) => `echo "${MARK.fileBegin} ${f}"; ${SHOW[f] ?? `cat ${f} 2>&1`}; echo "${MARK.fileEnd} ${f}"`);
  const ssh = o.ssh
    ? `  echo "${MARK.sshBegin}"
  for w in $(sed -n 's/^NodeName=\\([^ ]*\\).*/\\1/p' /etc/slurm/slurm.conf); do
    out=$(ssh -n -i ${o.ssh.keyFile} -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=60 ${o.ssh.user}@$w hostname 2>&1)
    rc=$?
    echo "$w exit $rc" $out
  done
  echo "${MARK.sshEnd}"
`
    : "";
  const job = o.job || o.ssh
    ? `h=$(cat /etc/hostname 2>/dev/null)
if [ -n "$h" ] && grep -Eq "^SlurmctldHost=$h(\\(|$)" /etc/slurm/slurm.conf 2>/dev/null; then
${o.job ? jobLines(o.job) : ""}${ssh}fi
`
    : "";
  return `#!/bin/sh
${POWER_BUTTON_WATCH}
run=0
while :; do
  run=$((run+1))
  ${GUEST_AGENT_COMMAND} -k -v --exit-dirty > /var/log/vacfg-agent.log 2>&1
  rc=$?
  echo "${MARK.agentRun} $run exit $rc uptime $(cut -d' ' -f1 /proc/uptime)"
  [ $rc = 0 ] && break
  tail -n 15 /var/log/vacfg-agent.log
  [ $run -ge ${o.maxRuns ?? 8} ] && break
  sleep ${o.retrySeconds ?? 4}
done
${show.join("\n")}
echo "${MARK.done}"
${job}while sleep 2; do echo "${MARK.tick} $(cut -d' ' -f1 /proc/uptime)"; done
`;
}

/** The head's job: wait for idle workers, run the command between job markers. */
function jobLines(job: { nodes: number; command: string; waitSeconds?: number }): string {
  return `  w=0
  until [ "$(sinfo -h -N -t idle -o %N 2>/dev/null | sort -u | wc -l)" -ge ${job.nodes} ] || [ $w -ge ${job.waitSeconds ?? 300} ]; do sleep 2; w=$((w+2)); done
  echo "${MARK.jobBegin} after $w s: ${job.command}"
  ${job.command} 2>&1
  rc=$?
  echo "${MARK.jobEnd} exit $rc"
  sinfo 2>&1
  [ $rc = 0 ] || tail -n 20 /var/log/slurm/slurmctld.log
`;
}

/** The lines a job printed between the job markers of a serial log (undefined: no job ran). */
export function parseJobOutput(serial: string): { lines: string[]; exit: number } | undefined {
  const m = new RegExp(`^${MARK.jobBegin}[^\\n]*\\n([\\s\\S]*?)^${MARK.jobEnd} exit (\\d+)$`, "m").exec(serial.replace(/\r/g, ""));
  return m ? { lines: m[1].split("\n").filter((l) => l !== ""), exit: Number(m[2]) } : undefined;
}

/** The sections between file markers of a serial log: path -> content. */
export function parseShownFiles(serial: string): Map<string, string> {
  const out = new Map<string, string>();
  const text = serial.replace(/\r/g, "");
  const re = new RegExp(`^${MARK.fileBegin} (\\S+)\\n([\\s\\S]*?)^${MARK.fileEnd} \\1$`, "gm");
  for (const m of text.matchAll(re)) out.set(m[1], m[2]);
  return out;
}

/** What the head's ssh logins printed: worker -> {exit, output}; undefined: none ran. */
export function parseSshChecks(serial: string): Map<string, { exit: number; output: string }> | undefined {
  const m = new RegExp(`^${MARK.sshBegin}\\n([\\s\\S]*?)^${MARK.sshEnd}$`, "m").exec(serial.replace(/\r/g, ""));
  if (!m) return undefined;
  const out = new Map<string, { exit: number; output: string }>();
  for (const l of m[1].split("\n")) {
    const r = /^(\S+) exit (\d+) ?(.*)$/.exec(l);
    if (r) out.set(r[1], { exit: Number(r[2]), output: r[3] });
  }
  return out;
}
