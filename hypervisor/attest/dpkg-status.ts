// The installed-package list of an image, from dpkg's status database (deb822 stanzas).
import type { AttestedPackage } from "../../protocol/attestation.js";

/** Fields of each stanza (continuation lines folded into the field they continue). */
function stanzas(text: string): Array<Map<string, string>> {
  const out: Array<Map<string, string>> = [];
  let cur = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (cur.size) out.push(cur);
      cur = new Map();
      last = undefined;
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (last) cur.set(last, cur.get(last) + "\n" + line);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue; // not a field; dpkg would refuse the file, we only read what is clear
    last = line.slice(0, colon).toLowerCase();
    cur.set(last, line.slice(colon + 1).trim());
  }
  if (cur.size) out.push(cur);
  return out;
}

/**
 * Packages whose Status says "installed" (want/eflag ignored: a held or reinst-required package
 * is still on disk), sorted by name then architecture.
 */
export function installedPackages(statusText: string): AttestedPackage[] {
  const pkgs: AttestedPackage[] = [];
  for (const s of stanzas(statusText)) {
    const status = (s.get("status") ?? "").split(/\s+/);
    if (status[2] !== "installed") continue;
    const name = s.get("package");
    const version = s.get("version");
    if (!name || !version) continue;
    pkgs.push({ name, version, arch: s.get("architecture") ?? "" });
  }
  return pkgs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
}

/** Debian stable point/security updates version their packages +debNuM (or ~debNuM for backports to stable). */
export const STABLE_UPDATE_RE = /[+~]deb\d+u\d+/;
