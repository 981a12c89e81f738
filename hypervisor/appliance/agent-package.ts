// The agent in an appliance image: the vacfg-agent Debian package (`npm run package`), installed
// with dpkg into the image's root like any other package, so its files, units and dpkg status are
// what a site installing it by hand would get. Here: where it lands, and the dpkg step.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { AGENT_PACKAGE_LAYOUT } from "../../protocol/attestation.js";
import { VacfgError } from "../../protocol/errors.js";
import { runChecked } from "../../lib/host-tools.js";
import type { Progress } from "./cache.js";

/** The package, its bundle and its command in the guest (packaging/packages.ts installs them there). */
export const AGENT_PACKAGE = AGENT_PACKAGE_LAYOUT.package;
export const GUEST_AGENT_LIB = AGENT_PACKAGE_LAYOUT.dir;
export const GUEST_AGENT_COMMAND = AGENT_PACKAGE_LAYOUT.command;

const CHROOT_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", DEBIAN_FRONTEND: "noninteractive", LANG: "C.UTF-8" };

/** A .deb's Package and Version fields (dpkg-deb -f); an unreadable file is an IMAGE error naming it. */
export async function debFields(deb: string): Promise<{ name: string; version: string }> {
  const out = await runChecked("dpkg-deb", ["-f", deb, "Package", "Version"], { code: "IMAGE" }).catch((e: Error) => {
    throw new VacfgError("IMAGE", `${deb}: not a Debian package: ${e.message}`);
  });
  const f = Object.fromEntries(out.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
  return { name: f.Package ?? "", version: f.Version ?? "" };
}

/** Refuses a file that is not the vacfg-agent package (a typo'd --agent-deb fails before debootstrap). */
export async function checkAgentDeb(deb: string): Promise<{ name: string; version: string }> {
  const f = await debFields(deb);
  if (f.name !== AGENT_PACKAGE) throw new VacfgError("IMAGE", `${deb}: package "${f.name}", expected ${AGENT_PACKAGE} (npm run package builds it)`);
  return f;
}

/**
 * `dpkg -i` chrooted into `root` (root only): dependencies must already be in the root (vacfg-agent
 * needs nodejs), and the maintainer scripts enable the units offline through deb-systemd-helper.
 */
export async function installDebs(root: string, debs: string[], progress: Progress): Promise<void> {
  if (!debs.length) return;
  const dir = mkdtempSync(join(root, "tmp", "vacfg-debs-"));
  try {
    const inRoot = debs.map((d, i) => {
      const name = `${i}-${basename(d)}`;
      cpSync(d, join(dir, name));
      return `/tmp/${basename(dir)}/${name}`;
    });
    progress(`dpkg -i ${debs.map((d) => basename(d)).join(" ")}`);
    await runChecked("chroot", [root, "dpkg", "-i", ...inRoot], { code: "IMAGE", env: CHROOT_ENV, timeoutMs: 600_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
