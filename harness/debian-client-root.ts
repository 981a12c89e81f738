// A Debian root in which the upstream Bcfg2 client can make a real run, as it only applies to the
// system it runs on: debootstrap --variant=minbase bookworm with the client's Python dependencies,
// systemctl and debsums (built once, cached under the appliance cache), apt pointed only at a
// local flat repository copied into the root, and the kit's client source (plus the Python 3
// patches in harness/bcfg2-client-patches) at /opt/bcfg2. The client runs chrooted, in a private
// mount namespace with /proc and /dev, so everything it writes stays in the root and no mount
// outlives it. The vacfg agent applies to a copy of the same root from outside (--root).
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveCacheDir, stderrProgress } from "../hypervisor/appliance/cache.js";
import { ensureRootfsTarball } from "../hypervisor/appliance/rootfs.js";

/** What the client needs beyond minbase: its Python modules, the APT driver's apt bindings and debsums, systemctl. */
export const CLIENT_ROOT_PACKAGES = ["python3", "python3-lxml", "python3-apt", "python3-six", "debsums", "systemd"];
const PATCHES = resolve(dirname(fileURLToPath(import.meta.url)), "../../harness/bcfg2-client-patches");
/** Where the local repository lands inside the root. */
const REPO_IN_ROOT = "/srv/vacfg-local-repo";

export interface ClientRootTemplate {
  dir: string;
  /** A fresh copy of the template at `dest` (removed first). */
  copy(dest: string): void;
}

/**
 * Builds the template root in `dir`: the cached debootstrap root unpacked, apt's only source the
 * flat repository `aptRepo` (copied in) with its lists fetched, the upstream client from
 * `bcfg2Ref` (an installation of the kit) patched, and /etc/bcfg2.conf for `serverUrl` and `caFile`.
 */
export async function makeClientRootTemplate(dir: string, aptRepo: string, bcfg2Ref: string, serverUrl: string, caFile: string): Promise<ClientRootTemplate> {
  const tarball = await ensureRootfsTarball(await resolveCacheDir(), { packages: CLIENT_ROOT_PACKAGES }, stderrProgress);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", dir, "--numeric-owner"], { stdio: "pipe" });
  writeFileSync(join(dir, "etc/hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost\n");
  cpSync(aptRepo, join(dir, REPO_IN_ROOT), { recursive: true });
  writeFileSync(join(dir, "etc/apt/sources.list"), `deb [trusted=yes] file:${REPO_IN_ROOT} ./\n`);
  for (const f of readdirSync(join(dir, "var/lib/apt/lists"))) if (f !== "partial" && f !== "auxfiles") rmSync(join(dir, "var/lib/apt/lists", f), { force: true });
  execFileSync("chroot", [dir, "apt-get", "-q", "update"], { stdio: "pipe" });
  const client = join(dir, "opt/bcfg2");
  mkdirSync(join(client, "sbin"), { recursive: true });
  cpSync(join(bcfg2Ref, "src/src/lib"), join(client, "src/lib"), { recursive: true });
  cpSync(join(bcfg2Ref, "src/src/sbin/bcfg2"), join(client, "sbin/bcfg2"));
  for (const p of readdirSync(PATCHES).filter((f) => f.endsWith(".diff")).sort()) {
    execFileSync("patch", ["-d", client, "-p1", "--forward", "--quiet", "-i", join(PATCHES, p)], { stdio: "pipe" });
  }
  // byte-compiled, as a packaged installation is (python3's postinst), so no run compiles it
  execFileSync("chroot", [dir, "python3", "-m", "compileall", "-q", "/opt/bcfg2/src/lib"], { stdio: "pipe" });
  cpSync(caFile, join(client, "ca.crt"));
  writeFileSync(join(dir, "etc/bcfg2.conf"), `[communication]\nprotocol = xmlrpc/ssl\nca = /opt/bcfg2/ca.crt\n\n[components]\nbcfg2 = ${serverUrl}\n`);
  return {
    dir,
    copy(dest: string): void {
      rmSync(dest, { recursive: true, force: true });
      execFileSync("cp", ["-a", dir, dest], { stdio: "pipe" });
    },
  };
}

/** argv running `argv` chrooted into `root` in a private mount namespace with /proc and /dev (gone when it exits). */
export function inChroot(root: string, argv: string[]): string[] {
  return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", 'mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" && r=$1 && shift && exec chroot "$r" "$@"', "sh", root, ...argv];
}

/** argv of a real run of the upstream client (bcfg2 ARGS, /etc/bcfg2.conf of the root) inside `root`. */
export function upstreamClientArgv(root: string, args: string[]): string[] {
  return inChroot(root, ["env", "PYTHONPATH=/opt/bcfg2/src/lib", "/usr/bin/python3", "/opt/bcfg2/sbin/bcfg2", ...args]);
}
