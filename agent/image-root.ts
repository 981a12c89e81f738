// An empty image root for offline builds (vacfg agent --root): the accounts, dpkg/apt state and
// init directories a minimal Debian image has, a flat local apt repository built from package
// trees (dpkg-deb + dpkg-scanpackages), and a static shell for chrooted actions. Used by image
// builds, the agent's tests and bench/agent.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

function put(root: string, path: string, content: string, mode = 0o644): void {
  const p = join(root, path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content);
  chmodSync(p, mode);
}

/** Prepares `root` like a fresh minimal Debian image: accounts, dpkg/apt state, init dirs. */
export function makeBaseRoot(root: string, aptRepo?: string): void {
  put(root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  put(root, "etc/group", "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nusers:x:100:\nnogroup:x:65534:\n");
  put(root, "etc/shadow", "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n", 0o640);
  put(root, "etc/gshadow", "root:*::\ndaemon:*::\nshadow:*::\nusers:*::\nnogroup:*::\n", 0o640);
  put(root, "etc/os-release", 'ID=debian\nVERSION_CODENAME=bookworm\n');
  for (const d of ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/log/apt", "etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d", "etc/systemd/system", "lib/systemd/system", "etc/init.d", "root", "tmp"]) {
    mkdirSync(join(root, d), { recursive: true });
  }
  for (const l of ["0", "1", "2", "3", "4", "5", "6", "S"]) mkdirSync(join(root, `etc/rc${l}.d`), { recursive: true });
  chmodSync(join(root, "root"), 0o700);
  put(root, "var/lib/dpkg/status", "");
  if (aptRepo) {
    put(root, "etc/apt/sources.list", `deb [trusted=yes] file:${aptRepo} ./\n`);
    const r = root;
    execFileSync("apt-get", ["-q", "-o", `Dir=${r}`, "-o", `Dir::State::status=${r}/var/lib/dpkg/status`, "update"], { stdio: "pipe" });
  }
}

/** Copies /bin/sh (dash), /bin/true and the loader/libc into the root, so chrooted actions can run. */
export function addShell(root: string): void {
  for (const [src, dst] of [
    ["/bin/dash", "bin/sh"],
    ["/bin/true", "bin/true"],
    ["/lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libc.so.6"],
    ["/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"],
  ]) {
    mkdirSync(dirname(join(root, dst)), { recursive: true });
    copyFileSync(src, join(root, dst));
    chmodSync(join(root, dst), 0o755);
  }
}

export interface DebSpec {
  name: string;
  version: string;
  /** path (no leading /) → content; a path ending in / is a directory; [content, mode] sets a mode. */
  files: Record<string, string | [string, number]>;
}

/** Builds real .deb packages (dpkg-deb) and a flat apt repository (dpkg-scanpackages). */
export function buildAptRepo(dir: string, debs: DebSpec[]): string {
  const repo = join(dir, "repo");
  mkdirSync(repo, { recursive: true });
  for (const d of debs) {
    const tree = join(dir, "build", d.name);
    put(tree, "DEBIAN/control", `Package: ${d.name}\nVersion: ${d.version}\nArchitecture: all\nMaintainer: vacfg tests <tests@localhost>\nDescription: vacfg agent test package ${d.name}\n`);
    for (const [p, c] of Object.entries(d.files)) {
      if (p.endsWith("/")) {
        mkdirSync(join(tree, p), { recursive: true });
        if (Array.isArray(c)) chmodSync(join(tree, p), c[1]);
      } else if (Array.isArray(c)) put(tree, p, c[0], c[1]);
      else put(tree, p, c);
    }
    execFileSync("dpkg-deb", ["--root-owner-group", "--build", tree, join(repo, `${d.name}_${d.version}_all.deb`)], { stdio: "pipe" });
  }
  const pk = spawnSync("dpkg-scanpackages", [".", "/dev/null"], { cwd: repo, encoding: "utf8" });
  writeFileSync(join(repo, "Packages"), pk.stdout);
  return repo;
}
