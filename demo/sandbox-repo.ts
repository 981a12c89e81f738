// The repository `vacfg demo agent` serves to its sandbox roots: a copy of the example repository
// whose bundles leave out what cannot exist in a root without a package source or an init system
// (Package, Service, and the Actions that drive those services), so a run there can be clean.
// The appliance image (`vacfg demo cluster`) gets the repository unchanged.
import { appendFileSync, cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseXml, serializeXml, type XmlElement } from "../protocol/xml.js";

/**
 * The system accounts the left-out Debian packages create when they are installed (munge: adduser
 * --system, as in the appliance image; slurm: Debian's fixed uid 64030): files the repository gives
 * them (the MUNGE key, Slurm's state and log directories) need their owners in a sandbox root too.
 */
export const PACKAGE_ACCOUNTS = [
  { name: "munge", uid: 100, gid: 101 },
  { name: "slurm", uid: 64030, gid: 64030 },
] as const;

/** Adds PACKAGE_ACCOUNTS to a root made by makeBaseRoot (passwd and group). */
export function addPackageAccounts(root: string): void {
  appendFileSync(join(root, "etc/passwd"), PACKAGE_ACCOUNTS.map((a) => `${a.name}:x:${a.uid}:${a.gid}::/nonexistent:/usr/sbin/nologin\n`).join(""));
  appendFileSync(join(root, "etc/group"), PACKAGE_ACCOUNTS.map((a) => `${a.name}:x:${a.gid}:\n`).join(""));
}

/** Entry tags a sandbox root cannot satisfy. */
export const SANDBOX_LEFT_OUT = ["Package", "Service", "Action"] as const;

/** Removes the left-out entries anywhere in a bundle (also inside Group/Client conditionals); returns how many. */
function prune(e: XmlElement): number {
  const before = e.children.length;
  e.children = e.children.filter((c) => !(SANDBOX_LEFT_OUT as readonly string[]).includes(c.tag));
  return before - e.children.length + e.children.reduce((n, c) => n + prune(c), 0);
}

/** Copies `from` to `to` and prunes every Bundler/*.xml of the copy; returns the entries left out per bundle file. */
export function sandboxRepoCopy(from: string, to: string): Record<string, number> {
  cpSync(from, to, { recursive: true });
  const dir = join(to, "Bundler");
  const out: Record<string, number> = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".xml")).sort()) {
    const path = join(dir, f);
    const root = parseXml(readFileSync(path, "utf8"), { source: path });
    const n = prune(root);
    if (n) {
      writeFileSync(path, serializeXml(root, { pretty: true }) + "\n");
      out[f] = n;
    }
  }
  return out;
}
