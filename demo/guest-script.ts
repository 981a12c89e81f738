// The shell script a demo appliance runs after boot (stage 2 of the appliance boot protocol):
// watch the ACPI power button, run the agent until the node is contextualized, print what the
// agent made between markers on the serial console; the Slurm head then runs a job across the
// workers and prints its output; then every node keeps printing a heartbeat.
import { GUEST_AGENT_MAIN } from "../hypervisor/workspace/agent-tree.js";

export const MARK = {
  agentRun: "VACFG-AGENT-RUN",
  fileBegin: "VACFG-FILE-BEGIN",
  fileEnd: "VACFG-FILE-END",
  done: "VACFG-CTX-DONE",
  jobBegin: "VACFG-JOB-BEGIN",
  jobEnd: "VACFG-JOB-END",
  tick: "VACFG-TICK",
  powerdown: "VACFG-POWERDOWN",
} as const;

/**
 * What the guest shows after contextualization: files, "passwd" (the cluster users' lines only),
 * "hostname" (the running kernel's) and "services" (each Slurm daemon's init-script status).
 */
export const SHOWN_FILES = ["/etc/resolv.conf", "/etc/hostname", "/etc/slurm/slurm.conf", "/etc/ssh/ssh_known_hosts", "/etc/munge/munge.key", "passwd", "hostname", "services", "agent-log", "slurm-log"];

const SHOW: Record<string, string> = {
  passwd: "grep -E '^(alice|bob|torqueadm):' /etc/passwd",
  hostname: "hostname",
  // the daemons' own status (init scripts), and the key's mode and owner rather than its bytes
  services: 'for s in munge slurmctld slurmd; do if invoke-rc.d --quiet $s status >/dev/null 2>&1; then echo "$s running"; else echo "$s stopped"; fi; done',
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

/**
 * Runs the agent until a run exits 0 (the server may not answer yet) or `maxRuns` is reached, shows
 * the node's files, and on the Slurm head (the node whose /etc/hostname slurm.conf names as SlurmctldHost) waits until
 * `job.nodes` workers are idle and runs `job.command` (as root) between job markers.
 */
export function clusterGuestScript(o: { maxRuns?: number; retrySeconds?: number; job?: { nodes: number; command: string; waitSeconds?: number } } = {}): string {
  const show = SHOWN_FILES.map((f) => `echo "${MARK.fileBegin} ${f}"; ${SHOW[f] ?? `cat ${f} 2>&1`}; echo "${MARK.fileEnd} ${f}"`);
  const job = o.job
    ? `h=$(cat /etc/hostname 2>/dev/null)
if [ -n "$h" ] && grep -Eq "^SlurmctldHost=$h(\\(|$)" /etc/slurm/slurm.conf 2>/dev/null; then
  w=0
  until [ "$(sinfo -h -N -t idle -o %N 2>/dev/null | sort -u | wc -l)" -ge ${o.job.nodes} ] || [ $w -ge ${o.job.waitSeconds ?? 300} ]; do sleep 2; w=$((w+2)); done
  echo "${MARK.jobBegin} after $w s: ${o.job.command}"
  ${o.job.command} 2>&1
  rc=$?
  echo "${MARK.jobEnd} exit $rc"
  sinfo 2>&1
  [ $rc = 0 ] || tail -n 20 /var/log/slurm/slurmctld.log
fi
`
    : "";
  return `#!/bin/sh
${POWER_BUTTON_WATCH}
run=0
while :; do
  run=$((run+1))
  node ${GUEST_AGENT_MAIN} -k -v > /var/log/vacfg-agent.log 2>&1
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
