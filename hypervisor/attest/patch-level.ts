// The image's patch level as its own files state it: os-release, debian_version, and how many
// installed packages are at a stable/security update version (see protocol/attestation.ts PatchLevel).
import type { AttestedPackage, PatchLevel } from "../../protocol/attestation.js";
import { STABLE_UPDATE_RE } from "./dpkg-status.js";

/** os-release(5): KEY=value lines, values optionally quoted with shell-style escapes. */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\([\\"$`])/g, "$1");
    }
    out.set(m[1], v);
  }
  return out;
}

export function patchLevel(osRelease: string | undefined, debianVersion: string | undefined, packages: AttestedPackage[]): PatchLevel {
  const os = parseOsRelease(osRelease ?? "");
  return {
    osId: os.get("ID") ?? null,
    versionId: os.get("VERSION_ID") ?? null,
    debianVersion: debianVersion?.trim() || null,
    stableUpdates: packages.filter((p) => STABLE_UPDATE_RE.test(p.version)).length,
  };
}
