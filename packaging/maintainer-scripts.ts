// The systemd parts of the maintainer scripts, as dh_installsystemd writes them: enable on install
// (keeping an admin's disable across upgrades, through deb-systemd-helper when present), start or
// restart only when systemd runs (never in a chroot or an image build), stop on removal.

export interface UnitActions {
  /** Units enabled on install (their [Install] section). */
  enable: string[];
  /** Units started on install and restarted on upgrade, when systemd is running. */
  start: string[];
}

const HEADER = "#!/bin/sh\nset -e\n";

function enableBlock(units: string[]): string {
  if (!units.length) return "";
  const list = units.join(" ");
  return `
if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
  for unit in ${list}; do
    if command -v deb-systemd-helper >/dev/null 2>&1; then
      deb-systemd-helper unmask "$unit" >/dev/null || true
      # was-enabled is true for a first install, and false once the admin disabled the unit.
      if deb-systemd-helper --quiet was-enabled "$unit"; then
        deb-systemd-helper enable "$unit" >/dev/null || true
      else
        deb-systemd-helper update-state "$unit" >/dev/null || true
      fi
    elif command -v systemctl >/dev/null 2>&1 && [ -z "$2" ]; then
      systemctl enable "$unit" >/dev/null 2>&1 || true
    fi
  done
fi
`;
}

function startBlock(units: string[]): string {
  const reload = `
if [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
`;
  if (!units.length) return `${reload}fi\n`;
  return `${reload}  if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
    if [ -n "$2" ]; then action=restart; else action=start; fi
    for unit in ${units.join(" ")}; do
      if command -v deb-systemd-invoke >/dev/null 2>&1; then deb-systemd-invoke "$action" "$unit" || true; else systemctl "$action" "$unit" || true; fi
    done
  fi
fi
`;
}

/** postinst: the package's own configure step (shell, may be empty), then enable and start. */
export function postinst(units: UnitActions, configure = ""): string {
  const own = configure ? `\nif [ "$1" = configure ]; then\n${configure.trimEnd()}\nfi\n` : "";
  return HEADER + own + enableBlock(units.enable) + startBlock(units.start);
}

/** prerm: stop the units when the package is removed (not on upgrade: postinst restarts them), after the package's own step (shell, may be empty). */
export function prerm(units: UnitActions, own = ""): string {
  const all = [...new Set([...units.start, ...units.enable])].join(" ");
  return `${HEADER}${own ? `\n${own.trimEnd()}\n` : ""}
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  for unit in ${all}; do
    if command -v deb-systemd-invoke >/dev/null 2>&1; then deb-systemd-invoke stop "$unit" >/dev/null || true; else systemctl stop "$unit" >/dev/null 2>&1 || true; fi
  done
fi
`;
}

/** postrm: forget the units' enablement on purge, reload systemd on removal. */
export function postrm(units: UnitActions, purge = ""): string {
  const all = [...new Set([...units.start, ...units.enable])].join(" ");
  const own = purge ? `\nif [ "$1" = purge ]; then\n${purge.trimEnd()}\nfi\n` : "";
  return `${HEADER}
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = purge ] && command -v deb-systemd-helper >/dev/null 2>&1; then
  for unit in ${all}; do
    deb-systemd-helper purge "$unit" >/dev/null || true
    deb-systemd-helper unmask "$unit" >/dev/null || true
  done
fi
${own}`;
}
