// The configuration digest: sha256 over a sorted listing of everything under the given guest
// paths. One line per entry: JSON path, type, octal permission bits, uid, gid, and the sha256 of
// the content (files) or link target (symlinks), "-" otherwise; a root that does not exist
// lists as "absent" so its absence is attested too.
import { createHash } from "node:crypto";
import { VacfgError } from "../../protocol/errors.js";
import { debugfsRead, readInodes, statPaths, typeOfMode, type InodeInfo } from "./guest-fs.js";

export interface ConfigEntry extends InodeInfo {
  path: string;
}

export interface ConfigDigest {
  digest: string;
  /** Number of entries listed (files, dirs, links, ...; absent roots not counted). */
  files: number;
  listing: string;
}

/** Bound on a config walk so a hostile image cannot make attestation run forever. */
const MAX_ENTRIES = 500_000;

/** `ls -p` line: /ino/mode/uid/gid/name/size/ (name cannot hold "/"; a newline in it breaks the line and is refused). */
function parseLsP(text: string, dirPath: string, spec: string): InodeInfo[] {
  const out: InodeInfo[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = /^\/(\d+)\/([0-7]+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line);
    if (!m) throw new VacfgError("IMAGE", `${spec}:${dirPath}: cannot list entry ${JSON.stringify(line.slice(0, 80))} (name with a newline?)`);
    const [, ino, mode, uid, gid, name, size] = m;
    if (name === "." || name === ".." || ino === "0") continue;
    const type = typeOfMode(parseInt(mode, 8));
    if (!type) throw new VacfgError("IMAGE", `${spec}:${dirPath}/${name}: unknown file type (mode ${mode})`);
    out.push({ ino: Number(ino), type, perm: parseInt(mode, 8) & 0o7777, uid: Number(uid), gid: Number(gid), size: Number(size || 0), name } as InodeInfo & { name: string });
  }
  return out;
}

/** Every entry under the roots (roots included), breadth-first, one debugfs run per level. */
export function walkGuestTrees(spec: string, roots: string[]): { entries: ConfigEntry[]; absent: string[] } {
  const st = statPaths(spec, roots);
  const entries: ConfigEntry[] = [];
  const absent: string[] = [];
  let level: ConfigEntry[] = [];
  roots.forEach((r, i) => {
    const s = st[i];
    if (!s) absent.push(r);
    else {
      const e = { ...s, path: r };
      entries.push(e);
      if (s.type === "dir") level.push(e);
    }
  });
  while (level.length) {
    const chunks = debugfsRead(spec, level.map((d) => `ls -p <${d.ino}>`));
    const next: ConfigEntry[] = [];
    level.forEach((d, i) => {
      for (const c of parseLsP(chunks[i] ?? "", d.path, spec) as Array<InodeInfo & { name: string }>) {
        const { name, ...info } = c;
        const e: ConfigEntry = { ...info, path: `${d.path === "/" ? "" : d.path}/${name}` };
        entries.push(e);
        if (e.type === "dir") next.push(e);
      }
    });
    if (entries.length > MAX_ENTRIES) throw new VacfgError("IMAGE", `${spec}: more than ${MAX_ENTRIES} entries under ${roots.join(", ")}`);
    level = next;
  }
  return { entries, absent };
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Roots are normalised (sorted, duplicates and roots nested in another root dropped) so the digest depends on what is covered, not how it was asked. */
export function normaliseRoots(paths: string[]): string[] {
  const sorted = [...new Set(paths.map((p) => (p.length > 1 ? p.replace(/\/+$/, "") : p)))].sort(byBytes);
  return sorted.filter((p) => !sorted.some((q) => q !== p && (q === "/" || p.startsWith(q + "/"))));
}

export function configDigest(spec: string, paths: string[]): ConfigDigest & { roots: string[] } {
  const roots = normaliseRoots(paths);
  const { entries, absent } = walkGuestTrees(spec, roots);
  const data = readInodes(spec, entries);
  const lines = entries.map((e) => {
    const content = e.type === "file" || e.type === "symlink" ? createHash("sha256").update(data.get(e.ino) ?? Buffer.alloc(0)).digest("hex") : "-";
    return { path: e.path, line: `${JSON.stringify(e.path)}\t${e.type}\t${e.perm.toString(8).padStart(4, "0")}\t${e.uid}\t${e.gid}\t${content}\n` };
  });
  for (const a of absent) lines.push({ path: a, line: `${JSON.stringify(a)}\tabsent\n` });
  lines.sort((x, y) => byBytes(x.path, y.path));
  const listing = lines.map((l) => l.line).join("");
  return { roots, digest: "sha256:" + createHash("sha256").update(listing).digest("hex"), files: entries.length, listing };
}
