// The shell script a demo appliance runs after boot (stage 2 of the appliance boot protocol):
// watch the ACPI power button, run the agent until the node is contextualized, print what the
// agent made between markers on the serial console, then keep printing a heartbeat.
import { GUEST_AGENT_MAIN } from "../hypervisor/workspace/agent-tree.js";

export const MARK = {
  agentRun: "VACFG-AGENT-RUN",
  fileBegin: "VACFG-FILE-BEGIN",
  fileEnd: "VACFG-FILE-END",
  done: "VACFG-CTX-DONE",
  tick: "VACFG-TICK",
  powerdown: "VACFG-POWERDOWN",
} as const;

/** Files the guest shows after contextualization ("passwd" is the cluster users' lines only). */
export const SHOWN_FILES = ["/etc/resolv.conf", "/var/spool/torque/server_name", "/var/spool/torque/server_priv/nodes", "/var/spool/torque/mom_priv/config", "/etc/ssh/ssh_known_hosts", "passwd"];

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
 * `knownHosts`: FQDNs every node's ssh_known_hosts must list before the node counts as done; the
 * server only knows a node's host key once that node has run, so early nodes run the agent again
 * (as the agent's timer would) until all are there or `maxRuns` is reached.
 */
export function clusterGuestScript(o: { knownHosts: string[]; maxRuns?: number; retrySeconds?: number }): string {
  const show = SHOWN_FILES.map((f) =>
    f === "passwd"
      ? `echo "${MARK.fileBegin} passwd"; grep -E '^(alice|bob|torqueadm):' /etc/passwd; echo "${MARK.fileEnd} passwd"`
      : `echo "${MARK.fileBegin} ${f}"; cat ${f} 2>&1; echo "${MARK.fileEnd} ${f}"`,
  );
  return `#!/bin/sh
${POWER_BUTTON_WATCH}
run=0
while :; do
  run=$((run+1))
  node ${GUEST_AGENT_MAIN} -k > /var/log/vacfg-agent.log 2>&1
  rc=$?
  echo "${MARK.agentRun} $run exit $rc uptime $(cut -d' ' -f1 /proc/uptime)"
  [ $rc = 0 ] || tail -n 15 /var/log/vacfg-agent.log
  missing=""
  for n in ${o.knownHosts.join(" ")}; do grep -qF "$n " /etc/ssh/ssh_known_hosts 2>/dev/null || missing="$missing $n"; done
  [ -z "$missing" ] && break
  [ $run -ge ${o.maxRuns ?? 8} ] && { echo "known_hosts still misses:$missing"; break; }
  sleep ${o.retrySeconds ?? 4}
done
${show.join("\n")}
echo "${MARK.done}"
while sleep 2; do echo "${MARK.tick} $(cut -d' ' -f1 /proc/uptime)"; done
`;
}

/** The sections between file markers of a serial log: path -> content. */
export function parseShownFiles(serial: string): Map<string, string> {
  const out = new Map<string, string>();
  const text = serial.replace(/\r/g, "");
  const re = new RegExp(`^${MARK.fileBegin} (\\S+)\\n([\\s\\S]*?)^${MARK.fileEnd} \\1$`, "gm");
  for (const m of text.matchAll(re)) out.set(m[1], m[2]);
  return out;
}
