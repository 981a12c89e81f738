// Real small Debian-like ext4 images for the attestation tests: a temp tree (dpkg status,
// os-release, debian_version, /etc/vacfg files with chosen owners, the vacfg-agent bundle) packed with mkfs.ext4 -d.
import { spawnSync } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export function sh(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", input, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export interface FixturePackage {
  name: string;
  version: string;
  arch?: string;
  /** dpkg Status line (default "install ok installed") */
  status?: string;
}

export interface FixtureOptions {
  packages: FixturePackage[];
  versionId?: string;
  debianVersion?: string;
  /** extra files: guest path -> content (mode 0644, root) */
  files?: Record<string, string>;
  sizeMiB?: number;
}

export const DEFAULT_PACKAGES: FixturePackage[] = [
  { name: "base-files", version: "12.4+deb12u5" },
  { name: "libc6", version: "2.36-9+deb12u4" },
  { name: "libc6", version: "2.36-9+deb12u4", arch: "i386" },
  { name: "openssl", version: "3.0.11-1~deb12u2" },
  { name: "openssh-server", version: "1:9.2p1-2+deb12u2" },
  { name: "telnetd", version: "0.17+2.4-2", status: "deinstall ok config-files" },
  { name: "vacfg-agent", version: "0.1.0", arch: "all" },
  { name: "vim-tiny", version: "2:9.0.1378-2" },
];

export function dpkgStatus(pkgs: FixturePackage[]): string {
  return pkgs
    .map((p) =>
      [
        `Package: ${p.name}`,
        `Status: ${p.status ?? "install ok installed"}`,
        "Priority: optional",
        "Section: misc",
        "Installed-Size: 123",
        "Maintainer: Debian <debian@example.org>",
        `Architecture: ${p.arch ?? "amd64"}`,
        `Version: ${p.version}`,
        "Description: test package",
        " A longer description line that continues the field.",
        " .",
        " And one more.",
      ].join("\n") + "\n",
    )
    .join("\n");
}

/** Builds the image at `path`; returns nothing, leaves no temp tree behind. */
export function makeDebianImage(path: string, o: FixtureOptions): void {
  const root = mkdtempSync(join(tmpdir(), "vacfg-attest-tree-"));
  try {
    const put = (p: string, data: string, mode = 0o644) => {
      mkdirSync(join(root, dirname(p)), { recursive: true });
      writeFileSync(join(root, p), data, { mode });
    };
    put("var/lib/dpkg/status", dpkgStatus(o.packages));
    put("usr/lib/os-release", `PRETTY_NAME="Debian GNU/Linux ${o.versionId ?? "12"} (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="${o.versionId ?? "12"}"\nID=debian\n`);
    mkdirSync(join(root, "etc"), { recursive: true });
    // as on Debian: /etc/os-release is a symlink into /usr/lib
    symlinkSync("../usr/lib/os-release", join(root, "etc/os-release"));
    put("etc/debian_version", `${o.debianVersion ?? "12.5"}\n`);
    put("etc/vacfg/site.conf", "[site]\nname = test\n");
    put("etc/vacfg/secret.key", "not really secret\n", 0o600);
    chownSync(join(root, "etc/vacfg/secret.key"), 0, 42);
    put("etc/vacfg/sub dir/with space.conf", "x = 1\n");
    chownSync(join(root, "etc/vacfg/sub dir/with space.conf"), 1000, 1000);
    symlinkSync("site.conf", join(root, "etc/vacfg/current"));
    // what the vacfg-agent package installs (files may replace the bundle)
    put("usr/lib/vacfg-agent/vacfg-agent.cjs", "// the agent bundle\n");
    for (const [p, data] of Object.entries(o.files ?? {})) put(p.replace(/^\//, ""), data);
    sh("mkfs.ext4", ["-q", "-F", "-d", root, path, `${o.sizeMiB ?? 16}M`]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
