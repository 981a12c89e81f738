// A real, signed APT archive for tests and benchmarks: .deb files built with dpkg-deb, the
// dists/SUITE/COMPONENT/binary-ARCH/Packages(.gz) indexes written by dpkg-scanpackages, a
// Release file with SHA256 sums signed into InRelease by a throwaway gpg key, served over HTTP
// on 127.0.0.1. Packages can be published again (a newer version) while the server runs.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, normalize, relative } from "node:path";
import { gzipSync } from "node:zlib";

export interface DebPackage {
  name: string;
  version: string;
  /** "all" (default) or a real architecture. */
  arch?: string;
  /** Extra control fields: Depends, Pre-Depends, Recommends, Provides, Essential, … */
  control?: Record<string, string>;
  /** path (no leading /) → content of a file the package installs. */
  files?: Record<string, string>;
  suite?: string;
  component?: string;
}

export interface AptArchive {
  /** http://127.0.0.1:PORT/debian (no trailing slash). */
  url: string;
  /** The archive directory served at `url`. */
  dir: string;
  /** The binary keyring apt must trust (copy it to ROOT/etc/apt/trusted.gpg.d/NAME.gpg). */
  keyring: string;
  /** Builds and adds packages, then rewrites every index and Release of the touched suites. */
  publish(pkgs: DebPackage[]): void;
  close(): Promise<void>;
}

const ARCHES = ["amd64", "i386"];

function controlFile(p: DebPackage): string {
  const fields: Record<string, string> = {
    Package: p.name,
    Version: p.version,
    Architecture: p.arch ?? "all",
    Maintainer: "vacfg tests <tests@localhost>",
    ...p.control,
    Description: `vacfg Packages test package ${p.name}`,
  };
  return Object.entries(fields).map(([k, v]) => `${k}: ${v}\n`).join("");
}

function buildDeb(work: string, pool: string, p: DebPackage): void {
  const tree = join(work, "build", `${p.name}_${p.version}`);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(join(tree, "DEBIAN"), { recursive: true });
  writeFileSync(join(tree, "DEBIAN/control"), controlFile(p));
  for (const [path, content] of Object.entries(p.files ?? { [`usr/share/doc/${p.name}/version`]: `${p.version}\n` })) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), content);
  }
  mkdirSync(pool, { recursive: true });
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", tree, join(pool, `${p.name}_${p.version}_${p.arch ?? "all"}.deb`)], { stdio: "pipe" });
}

function gpg(home: string, args: string[], input?: string): Buffer {
  return execFileSync("gpg", ["--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "", ...args], { input, stdio: ["pipe", "pipe", "pipe"] });
}

/** Creates the archive in a fresh temp directory and starts serving it. */
export async function startAptArchive(initial: DebPackage[] = []): Promise<AptArchive> {
  const work = mkdtempSync(join(tmpdir(), "vacfg-apt-"));
  const dir = join(work, "debian");
  const home = join(work, "g");
  mkdirSync(home, { mode: 0o700 });
  gpg(home, ["--quick-gen-key", "vacfg test archive <archive@localhost>", "ed25519", "sign", "never"]);
  const keyring = join(work, "archive.gpg");
  writeFileSync(keyring, gpg(home, ["--export"]));

  const suites = new Map<string, Set<string>>();
  const publish = (pkgs: DebPackage[]): void => {
    const touched = new Set<string>();
    for (const p of pkgs) {
      const suite = p.suite ?? "bookworm";
      const comp = p.component ?? "main";
      buildDeb(work, join(dir, "pool", suite, comp), p);
      if (!suites.has(suite)) suites.set(suite, new Set());
      suites.get(suite)!.add(comp);
      touched.add(suite);
    }
    for (const suite of touched) writeSuite(suite, [...suites.get(suite)!].sort());
  };
  const writeSuite = (suite: string, comps: string[]): void => {
    const sums: string[] = [];
    for (const comp of comps) {
      for (const arch of ARCHES) {
        const rel = `${comp}/binary-${arch}`;
        const out = join(dir, "dists", suite, rel);
        mkdirSync(out, { recursive: true });
        const scan = spawnSync("dpkg-scanpackages", ["-m", "-a", arch, `pool/${suite}/${comp}`, "/dev/null"], { cwd: dir, encoding: "utf8" });
        if (scan.status !== 0) throw new Error(`dpkg-scanpackages: ${scan.stderr}`);
        const text = Buffer.from(scan.stdout);
        for (const [name, body] of [["Packages", text], ["Packages.gz", gzipSync(text)]] as const) {
          writeFileSync(join(out, name), body);
          sums.push(` ${createHash("sha256").update(body).digest("hex")} ${body.length} ${rel}/${name}`);
        }
      }
    }
    const release = [
      "Origin: vacfg-test",
      "Label: vacfg-test",
      `Suite: ${suite}`,
      `Codename: ${suite}`,
      `Date: ${new Date().toUTCString()}`,
      `Architectures: ${ARCHES.join(" ")}`,
      `Components: ${comps.join(" ")}`,
      "SHA256:",
      ...sums,
      "",
    ].join("\n");
    const base = join(dir, "dists", suite);
    writeFileSync(join(base, "Release"), release);
    writeFileSync(join(base, "InRelease"), gpg(home, ["--clearsign", "--output", "-"], release));
  };
  publish(initial);

  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? "/").split("?")[0]));
    const file = join(work, path);
    if (relative(work, file).startsWith("..") || !existsSync(file) || !statSync(file).isFile() || file.startsWith(home)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-length": statSync(file).size });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/debian`,
    dir,
    keyring,
    publish,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      spawnSync("gpgconf", ["--homedir", home, "--kill", "gpg-agent"]);
      rmSync(work, { recursive: true, force: true });
    },
  };
}
