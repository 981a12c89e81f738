// The appliance boot protocol: the initramfs /init, the stage-2 init inside the root image,
// the kernel command-line parameters both read (vacfg.*), and the markers they print on the
// serial console so a host can tell how far a guest got.
import { VacfgError } from "../../protocol/errors.js";
import { CTX_DHCP_OPTION } from "../ctx/dhcp.js";
import { GUEST_AGENT_COMMAND } from "./agent-package.js";

/** Printed by the initramfs once proc/sys/dev are mounted, drivers loaded and addresses set. */
export const BOOT_MARKER = "VACFG-BOOT-OK";
/** Printed by the root image's init after switch_root. */
export const STAGE2_MARKER = "VACFG-STAGE2";
/** Printed after the command ran, followed by its exit status. */
export const EXIT_MARKER = "VACFG-EXIT";
/** Printed before powering off when boot cannot continue. */
export const ERROR_MARKER = "VACFG-ERROR";

export interface BootParams {
  /** Shell command run after boot (in the initramfs, or in the root image after switch_root). */
  command?: string;
  /** Block device to mount: at /mnt in the initramfs, or as the new root with switchRoot. */
  root?: string;
  switchRoot?: boolean;
  /** Static IPv4 address/prefix per guest interface, eth0 first. */
  addresses?: string[];
  /** Further kernel parameters. */
  extra?: string;
}

/**
 * The kernel command line for a boot. The command travels base64-encoded so that no quoting of
 * the kernel's own parameter parser (spaces, quotes) can change it.
 */
export function bootCmdline(p: BootParams): string {
  const args = ["console=ttyS0", "panic=-1", "quiet", "loglevel=3"];
  if (p.root) args.push(`vacfg.root=${p.root}`);
  if (p.switchRoot) args.push("vacfg.switch=1");
  (p.addresses ?? []).forEach((a, i) => args.push(`vacfg.ip${i}=${a}`));
  if (p.command !== undefined) args.push(`vacfg.cmd=${Buffer.from(p.command).toString("base64")}`);
  if (p.extra) args.push(p.extra);
  const line = args.join(" ");
  // x86 COMMAND_LINE_SIZE: the kernel silently truncates beyond it, which would corrupt vacfg.cmd.
  if (line.length > MAX_CMDLINE) {
    throw new VacfgError("CMDLINE_TOO_LONG", `kernel command line is ${line.length} bytes, the x86 limit is ${MAX_CMDLINE} (vacfg.cmd carries ${p.command?.length ?? 0} bytes of command)`);
  }
  return line;
}

/** x86 COMMAND_LINE_SIZE, terminating NUL included. */
export const MAX_CMDLINE = 2047;

export const INITRAMFS_INIT = `#!/bin/busybox sh
# vacfg appliance initramfs: mount the kernel filesystems, load virtio drivers, set static
# addresses, then either switch_root into the appliance image or run a command here; power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
die() { echo "${ERROR_MARKER} $*"; sync; poweroff -f; sleep 30; }
while read -r m; do
  [ -n "$m" ] && { insmod "/lib/modules/$m" || echo "vacfg-init: insmod $m failed"; }
done < /lib/modules/load.order
ip link set lo up
ROOT=""; CMD=""; SWITCH=""; DHCP=""
for a in $(cat /proc/cmdline); do
  case "$a" in
    vacfg.root=*) ROOT="\${a#vacfg.root=}" ;;
    vacfg.switch=1) SWITCH=1 ;;
    vacfg.dhcp=1) DHCP=1 ;;
    vacfg.cmd=*) CMD="$(echo "\${a#vacfg.cmd=}" | base64 -d)" || die "bad vacfg.cmd" ;;
    vacfg.ip[0-9]*=*)
      n="\${a%%=*}"; n="eth\${n#vacfg.ip}"; addr="\${a#*=}"
      i=0; while [ ! -e "/sys/class/net/$n" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
      ip addr add "$addr" dev "$n" && ip link set "$n" up || echo "vacfg-init: cannot set $addr on $n" ;;
  esac
done
# The host's ACPI power-down (QMP system_powerdown) powers the guest off; started before the
# marker so a host that saw the marker knows the request will be heard. Not after switch_root,
# where the root image owns the machine.
[ -z "$SWITCH" ] && acpid -f -c /etc/acpi -l /dev/null -p /tmp/acpid.pid &
echo "${BOOT_MARKER}"
# vacfg.dhcp=1: eth0's address (and the parameter file's location, site option ${CTX_DHCP_OPTION}) from DHCP.
if [ -n "$DHCP" ]; then
  i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  ip link set eth0 up
  udhcpc -i eth0 -n -q -t 6 -T 2 -O ${CTX_DHCP_OPTION} -s /etc/udhcpc.script || echo "vacfg-init: no DHCP answer on eth0"
fi
if [ -n "$ROOT" ]; then
  i=0; while [ ! -b "$ROOT" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  [ -b "$ROOT" ] || die "no block device $ROOT"
  if [ -n "$SWITCH" ]; then
    mount -t ext4 -o rw "$ROOT" /newroot || die "cannot mount $ROOT"
    [ -x /newroot/sbin/vacfg-init ] || die "$ROOT has no /sbin/vacfg-init"
    # where the agent looks for a DHCP-given location (agent/context/locate-params.ts); stage 2 keeps this /run
    if [ -s /tmp/dhcp-ctx-url ]; then
      mount -t tmpfs -o mode=0755 tmpfs /newroot/run && mkdir -p /newroot/run/vacfg && cp /tmp/dhcp-ctx-url /newroot/run/vacfg/dhcp-ctx-url
    fi
    umount /proc /sys /dev
    exec switch_root /newroot /sbin/vacfg-init
  fi
  mount "$ROOT" /mnt || die "cannot mount $ROOT"
fi
if [ -n "$CMD" ]; then
  sh -c "$CMD"
  echo "${EXIT_MARKER} $?"
fi
[ -n "$ROOT" ] && umount /mnt
sync
poweroff -f
sleep 30
`;

/**
 * busybox udhcpc's hook in the initramfs: set the leased address and route, and keep the site
 * option's value (udhcpc exports an option it has no name for as optNNN, hex) as text.
 */
export const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via "\${router%% *}" dev "$interface" 2>/dev/null
    hex="$opt${CTX_DHCP_OPTION}"
    [ -n "$hex" ] && printf "$(echo "$hex" | sed 's/\\(..\\)/\\\\x\\1/g')" > /tmp/dhcp-ctx-url
    echo "vacfg-init: DHCP $ip/$mask on $interface" ;;
esac
exit 0
`;

/** Printed when the guest powers off because the host pressed the ACPI power button. */
export const POWERDOWN_MARKER = "VACFG-POWERDOWN";

export const POWER_BUTTON_ACTION = `#!/bin/sh
echo "${POWERDOWN_MARKER}" > /dev/console
sync
poweroff -f
`;

/**
 * Stage 2 is PID 1 of an image without an init system (Debian minbase) and runs it in multi-user
 * runlevel 2; it says so in this file on its own /run (a fresh tmpfs, so never in the image).
 */
export const STAGE2_RUNLEVEL_FILE = "/run/vacfg-init.runlevel";

/**
 * What Debian's invoke-rc.d asks before it starts or stops a service, for images without an init
 * system of their own: /sbin/runlevel (without an answer it refuses every start, "could not determine
 * current runlevel") and /usr/sbin/policy-rc.d (without /sbin/init and a policy it blocks every
 * action). Both answer only while stage 2 runs the appliance: in a chroot (an image build or update
 * on a host) no service is started, as before.
 */
export const STAGE2_SERVICE_POLICY: Record<string, string> = {
  "/usr/sbin/runlevel": `#!/bin/sh
# vacfg appliance: stage 2 (/sbin/vacfg-init) runs the system in the runlevel it wrote.
[ -r ${STAGE2_RUNLEVEL_FILE} ] || { echo unknown; exit 1; }
echo "N $(cat ${STAGE2_RUNLEVEL_FILE})"
`,
  "/usr/sbin/policy-rc.d": `#!/bin/sh
# vacfg appliance: init scripts may run while stage 2 runs the system (101: action forbidden).
[ -r ${STAGE2_RUNLEVEL_FILE} ] && exit 0
exit 101
`,
};

export const STAGE2_INIT = `#!/bin/sh
# vacfg appliance stage 2 (PID 1 after switch_root): mount the kernel filesystems, run the
# command given on the kernel command line (without one: the agent's boot run, when the vacfg-agent
# package is installed and /etc/vacfg.conf exists), then power off. Addresses were set by the initramfs.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HOME=/root
export PATH HOME
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# cgroup v1 hierarchies, as cgroupfs-mount does for inits other than systemd (slurmd needs them)
if mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup 2>/dev/null; then
  while read -r c h n e; do
    [ "$e" = 1 ] && mkdir -p /sys/fs/cgroup/$c && mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c 2>/dev/null
  done < /proc/cgroups
fi
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
grep -q " /run " /proc/mounts || mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
echo 2 > ${STAGE2_RUNLEVEL_FILE}
CMD=""
for a in $(cat /proc/cmdline); do
  case "$a" in
    vacfg.cmd=*) CMD="$(echo "\${a#vacfg.cmd=}" | base64 -d)" ;;
  esac
done
echo "${STAGE2_MARKER}"
if [ -n "$CMD" ]; then
  /bin/sh -c "$CMD"
  echo "${EXIT_MARKER} $?"
elif [ -x ${GUEST_AGENT_COMMAND} ] && [ -e /etc/vacfg.conf ]; then
  # No command: the agent's boot run, as the vacfg-agent package's vacfg-agent-boot.service does under systemd.
  VACFG_AGENT_OPTIONS=-q
  [ -r /etc/default/vacfg-agent ] && . /etc/default/vacfg-agent
  ${GUEST_AGENT_COMMAND} $VACFG_AGENT_OPTIONS
  echo "${EXIT_MARKER} $?"
fi
sync
mount -o remount,ro / 2>/dev/null
# No init system in the image: the magic SysRq power-off needs none. It is asynchronous and takes the
# disk away while this script still runs: start the wait before it (an exec after it can fail with EIO,
# and init exiting panics the kernel), then wait with the shell's builtin.
sleep 30 &
echo o > /proc/sysrq-trigger
wait
`;
