// Debian packages unpacked into the cache without installing them on the host: apt-get download
// + dpkg-deb -x. Used for the appliance kernel and the static busybox, so the host's own
// packages (e.g. the dynamic busybox another tool needs) are never replaced.
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { runChecked } from "../../lib/host-tools.js";
import { buildOnce, type Progress } from "./cache.js";

/** The version apt would install now (the candidate). */
export async function candidateVersion(pkg: string): Promise<string> {
  const out = await runChecked("apt-cache", ["policy", pkg], { code: "IMAGE" });
  const m = /Candidate:\s*(\S+)/.exec(out);
  if (!m || m[1] === "(none)") throw new VacfgError("IMAGE", `apt has no candidate for ${pkg}`);
  return m[1];
}

/** Directory holding the unpacked package (its root: boot/, lib/, bin/, ...), built once per version. */
export async function ensureUnpackedDeb(cacheDir: string, pkg: string, progress: Progress): Promise<string> {
  const version = await candidateVersion(pkg);
  const dir = join(cacheDir, "debs", `${pkg}_${version.replace(/[^A-Za-z0-9.+~-]/g, "_")}`);
  return buildOnce(dir, `${pkg} ${version} (unpacked)`, progress, async (tmp) => {
    const dl = `${tmp}.dl`;
    await mkdir(dl, { recursive: true });
    progress(`apt-get download ${pkg}=${version}`);
    // Root-owned download dirs only earn apt a "download is performed unsandboxed" warning.
    await runChecked("apt-get", ["download", "-q", `${pkg}=${version}`], { cwd: dl, code: "IMAGE", timeoutMs: 600_000 });
    const deb = (await readdir(dl)).find((f) => f.endsWith(".deb"));
    if (!deb) throw new VacfgError("IMAGE", `apt-get download ${pkg} produced no .deb`);
    await runChecked("dpkg-deb", ["-x", join(dl, deb), tmp], { code: "IMAGE", timeoutMs: 300_000 });
    await rm(dl, { recursive: true, force: true });
  });
}
