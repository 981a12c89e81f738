// The appliance root filesystem: debootstrap --variant=minbase of a Debian suite plus the
// packages the appliance runs (nodejs), cached as a tarball so it is built once per package set.
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { runChecked } from "../../lib/host-tools.js";
import { debianMirrorFor } from "./apt-mirror.js";
import { buildOnce, type Progress } from "./cache.js";

export interface RootfsOptions {
  suite?: string;
  /** Extra packages (debootstrap --include); dependencies are resolved by debootstrap. */
  packages?: string[];
  mirror?: string;
}

export const DEFAULT_SUITE = "bookworm";
export const DEFAULT_PACKAGES = ["nodejs", "ca-certificates"];
/**
 * The cluster appliance (demo/cluster.ts): Debian 12's Slurm and MUNGE, and the OpenSSH server of
 * the ssh bundle every node has, on top of the base packages.
 */
export const CLUSTER_PACKAGES = [...DEFAULT_PACKAGES, "munge", "openssh-server", "slurm-client", "slurmctld", "slurmd"];

export async function ensureRootfsTarball(cacheDir: string, o: RootfsOptions, progress: Progress): Promise<string> {
  const suite = o.suite ?? DEFAULT_SUITE;
  const packages = [...(o.packages ?? DEFAULT_PACKAGES)].sort();
  const key = createHash("sha256").update(`${suite}\0minbase\0${packages.join(",")}`).digest("hex").slice(0, 12);
  const target = join(cacheDir, "rootfs", `${suite}-minbase-${key}.tar.gz`);
  return buildOnce(target, `debootstrap ${suite} (+${packages.join(",")})`, progress, async (tmp) => {
    const mirror = o.mirror ?? (await debianMirrorFor(suite));
    const dir = `${tmp}.d`;
    await mkdir(dir, { recursive: true });
    progress(`debootstrap --variant=minbase ${suite} from ${mirror} (a few minutes the first time)`);
    let lines = 0;
    // debootstrap prints one I: line per step; pass a sample through so long builds show life.
    const onOutput = (chunk: string) => {
      for (const l of chunk.split("\n")) {
        if (/^I: (Retrieving|Validating|Extracting|Unpacking|Configuring|Installing|Base system)/.test(l) && (lines++ % 25 === 0 || /Base system/.test(l))) progress(`debootstrap: ${l.slice(3)}`);
      }
    };
    try {
      // Downloaded .debs stay in the cache, so a changed package list only fetches what is new.
      const debs = join(cacheDir, "debs", "debootstrap");
      await mkdir(debs, { recursive: true });
      await runChecked("debootstrap", ["--variant=minbase", `--cache-dir=${debs}`, `--include=${packages.join(",")}`, suite, dir, mirror], { code: "IMAGE", timeoutMs: 30 * 60_000, onOutput });
    } catch (e) {
      // A failed debootstrap can leave proc/sys mounted in the target; the temp dir is about to be
      // deleted recursively, which must not descend into them.
      await unmountUnder(dir);
      throw e;
    }
    // The package cache is useless in the image and doubles the tarball.
    await runChecked("sh", ["-c", 'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages', "sh", dir]);
    progress("packing rootfs tarball");
    await runChecked("tar", ["-C", dir, "--numeric-owner", "-czf", tmp, "."], { code: "IMAGE", timeoutMs: 10 * 60_000 });
    await runChecked("rm", ["-rf", "--one-file-system", dir]);
  });
}

/** Unmounts every mount point at or below `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile("/proc/self/mounts", "utf8"))
    .split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(dir + "/")))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await runChecked("umount", ["-l", m]).catch(() => undefined);
}
