// One Debian binary package from a staged tree: DEBIAN/control, md5sums, conffiles and maintainer
// scripts written beside the files, then `dpkg-deb --build` (files owned by root, xz).
import { createHash } from "node:crypto";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { VacfgError } from "../protocol/errors.js";
import { runChecked } from "../lib/host-tools.js";

export interface DebSpec {
  name: string;
  version: string;
  /** `all` for pure JavaScript, the dpkg architecture for a tree with native modules. */
  architecture: string;
  depends?: string[];
  recommends?: string[];
  /** Summary line, then the long description's paragraphs. */
  description: [string, ...string[]];
  /** The package's files under their installed paths (usr/…, etc/…); DEBIAN/ is written here. */
  root: string;
  /** Installed paths (absolute) dpkg keeps an admin's edits of. */
  conffiles?: string[];
  scripts?: Partial<Record<"preinst" | "postinst" | "prerm" | "postrm", string>>;
}

export const MAINTAINER = "vacfg maintainers <root@localhost>";
/** File times in the packages unless SOURCE_DATE_EPOCH says otherwise (2026-01-01T00:00:00Z). */
export const PACKAGE_EPOCH = 1_767_225_600;

async function filesUnder(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (r === "DEBIAN") continue;
    if (e.isDirectory()) out.push(...(await filesUnder(dir, r)));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

function controlFile(s: DebSpec, installedKiB: number): string {
  const [summary, ...long] = s.description;
  const body = long.map((p) => p.split("\n").map((l) => ` ${l.trim() === "" ? "." : l}`).join("\n")).join("\n .\n");
  return [
    `Package: ${s.name}`,
    `Version: ${s.version}`,
    `Architecture: ${s.architecture}`,
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${installedKiB}`,
    ...(s.depends?.length ? [`Depends: ${s.depends.join(", ")}`] : []),
    ...(s.recommends?.length ? [`Recommends: ${s.recommends.join(", ")}`] : []),
    "Section: admin",
    "Priority: optional",
    `Description: ${summary}`,
    ...(body ? [body] : []),
    "",
  ].join("\n");
}

/** Builds OUT/NAME_VERSION_ARCH.deb from the staged tree and returns its path. */
export async function buildDeb(s: DebSpec, outDir: string): Promise<string> {
  const debian = join(s.root, "DEBIAN");
  await mkdir(debian, { recursive: true });
  const files = await filesUnder(s.root);
  const sums: string[] = [];
  for (const f of files) sums.push(`${createHash("md5").update(await readFile(join(s.root, f))).digest("hex")}  ${f}`);
  await writeFile(join(debian, "md5sums"), sums.join("\n") + "\n");
  const kib = Number((await runChecked("du", ["-sk", "--exclude=DEBIAN", s.root], { code: "PACKAGE" })).split(/\s/)[0]);
  await writeFile(join(debian, "control"), controlFile(s, kib));
  if (s.conffiles?.length) {
    for (const c of s.conffiles) if (!files.includes(relative("/", c))) throw new VacfgError("PACKAGE", `${s.name}: conffile ${c} is not in the package`);
    await writeFile(join(debian, "conffiles"), s.conffiles.join("\n") + "\n");
  }
  for (const [name, text] of Object.entries(s.scripts ?? {})) {
    await writeFile(join(debian, name), text);
    await chmod(join(debian, name), 0o755);
  }
  await mkdir(outDir, { recursive: true });
  const deb = join(outDir, `${s.name}_${s.version}_${s.architecture}.deb`);
  // Reproducible: file times clamped to SOURCE_DATE_EPOCH, so the same files give the same bytes
  // (an appliance image that installs the package is cached by those bytes).
  const env = { ...process.env, SOURCE_DATE_EPOCH: process.env.SOURCE_DATE_EPOCH ?? String(PACKAGE_EPOCH) };
  await runChecked("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", s.root, deb], { code: "PACKAGE", timeoutMs: 600_000, env });
  return deb;
}
