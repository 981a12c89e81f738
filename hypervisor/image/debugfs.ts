// Files inside an ext2/3/4 filesystem image without root and without mounting: e2fsprogs'
// debugfs. `fsSpec` is an image path, optionally "path?offset=BYTES" for a partition.
import { runToolSync } from "../../lib/host-tools.js";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";

export interface GuestFile {
  /** Absolute path in the guest, e.g. /etc/vacfg/context.xml */
  path: string;
  data: Buffer | string;
  /** Permission bits, e.g. 0o644 */
  mode: number;
  uid?: number;
  gid?: number;
}

export interface GuestStat {
  type: string;
  /** Permission bits only (no file type). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
}

// debugfs's command parser splits on spaces and has no escaping we want to depend on,
// so guest paths are restricted to characters that need none.
const SAFE_PATH = /^\/[A-Za-z0-9._+@=:,/-]*$/;

/** Absolute, without "..", of characters [A-Za-z0-9._+@=:,/-] (the ones debugfs needs no quoting for). */
export function isSafeGuestPath(p: string): boolean {
  return SAFE_PATH.test(p) && !p.split("/").some((c) => c === "..");
}

function checkPath(p: string): void {
  if (!isSafeGuestPath(p)) {
    throw new VacfgError("IMAGE", `guest path "${p}" has characters debugfs cannot take safely`);
  }
}

/** Builds the spec debugfs opens: the unix io manager reads "?offset=" off the name. */
export function fsSpec(image: string, offset = 0): string {
  if (image.includes("?")) throw new VacfgError("IMAGE", `${image}: image path may not contain "?"`);
  return offset ? `${image}?offset=${offset}` : image;
}

interface DebugfsResult {
  /** stdout split per command: chunks[i] is the output of commands[i]. */
  chunks: string[];
  /** stderr lines, banner removed. */
  errors: string[];
  stdout: Buffer;
}

/** Runs one debugfs session over a command file (read-only unless write). */
export function runDebugfs(spec: string, commands: string[], write: boolean): DebugfsResult {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-debugfs-"));
  try {
    const cmdFile = join(dir, "cmds");
    writeFileSync(cmdFile, commands.join("\n") + "\n");
    const args = [...(write ? ["-w"] : []), "-f", cmdFile, spec];
    let r: ReturnType<typeof runToolSync>;
    try {
      r = runToolSync("debugfs", args, { maxBuffer: 512 * 1024 * 1024, env: { ...process.env, DEBUGFS_PAGER: "__none__", PAGER: "__none__" } });
    } catch (e) {
      throw new VacfgError("IMAGE", `debugfs: ${(e as Error).message} (is e2fsprogs installed?)`, { cause: e });
    }
    const errors = r.stderr.split("\n").filter((l) => l.trim() !== "" && !/^debugfs \d/.test(l));
    if (r.code !== 0) throw new VacfgError("IMAGE", `debugfs ${spec}: exit ${r.code ?? r.signal}: ${errors.join("; ")}`);
    // Opening failures (not an ext fs, bad offset) are reported on stderr and every command is skipped.
    const openErr = errors.find((l) => /while (trying to open|opening filesystem)|Bad magic number/i.test(l));
    if (openErr) throw new VacfgError("IMAGE", `debugfs cannot open ${spec}: ${openErr}`);
    const chunks: string[] = [];
    let cur: string[] | undefined;
    for (const line of r.stdout.split("\n")) {
      if (line.startsWith("debugfs: ")) {
        cur = [];
        chunks.push("");
        continue;
      }
      if (cur) chunks[chunks.length - 1] += line + "\n";
    }
    return { chunks, errors, stdout: r.stdoutBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseStat(text: string): GuestStat | undefined {
  const m = /Type:\s+(\S+)\s+Mode:\s+([0-7]+)/.exec(text);
  const u = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(text);
  const s = /Size:\s+(\d+)/.exec(text);
  if (!m || !u || !s) return undefined;
  return { type: m[1], mode: parseInt(m[2], 8), uid: Number(u[1]), gid: Number(u[2]), size: Number(s[1]) };
}

/** Stats of several guest paths in one debugfs run; undefined for paths that do not exist. */
export function statGuestPaths(spec: string, paths: string[]): (GuestStat | undefined)[] {
  paths.forEach(checkPath);
  const r = runDebugfs(spec, paths.map((p) => `stat ${p}`), false);
  return paths.map((_, i) => parseStat(r.chunks[i] ?? ""));
}

export function statGuestPath(spec: string, path: string): GuestStat | undefined {
  return statGuestPaths(spec, [path])[0];
}

function parents(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.slice(0, -1).map((_, i) => "/" + parts.slice(0, i + 1).join("/"));
}

/**
 * Writes files into the filesystem (creating parent directories 0755 root:root like mkdir -p),
 * replacing existing ones, then reads each back and checks bytes, mode and owner.
 * Callers wanting atomicity run this on a copy (see patch-image.ts).
 */
export function writeGuestFiles(spec: string, files: GuestFile[]): void {
  for (const f of files) checkPath(f.path);
  const dirs = [...new Set(files.flatMap((f) => parents(f.path)))];
  // One read-only pass for everything we need to know; each debugfs start re-reads the group descriptors.
  const probe = runDebugfs(spec, ["features", ...dirs.map((d) => `stat ${d}`), ...files.map((f) => `stat ${f.path}`)], false);
  const feat = /Filesystem features:\s*(.*)/.exec(probe.chunks[0] ?? "");
  if (!feat) throw new VacfgError("IMAGE", `${spec}: not an ext2/3/4 filesystem (${probe.errors.join("; ") || "no features reported"})`);
  // debugfs bypasses the journal; writing under an unreplayed journal could corrupt the image.
  if (feat[1].split(/\s+/).includes("needs_recovery")) throw new VacfgError("IMAGE", `${spec}: journal needs recovery (run e2fsck first)`);
  const dirStats = dirs.map((_, i) => parseStat(probe.chunks[1 + i] ?? ""));
  const targetStats = files.map((_, i) => parseStat(probe.chunks[1 + dirs.length + i] ?? ""));
  dirs.forEach((d, i) => {
    const st = dirStats[i];
    if (st && st.type !== "directory") throw new VacfgError("IMAGE", `${spec}:${d} exists and is a ${st.type}, not a directory`);
  });
  files.forEach((f, i) => {
    const st = targetStats[i];
    if (st && st.type !== "regular") throw new VacfgError("IMAGE", `${spec}:${f.path} exists and is a ${st.type}`);
  });
  const missing = dirs.filter((_, i) => !dirStats[i]);

  const tmp = mkdtempSync(join(tmpdir(), "vacfg-guestfile-"));
  try {
    const cmds: string[] = [];
    for (const d of missing) cmds.push(`mkdir ${d}`, `sif ${d} mode 040755`, `sif ${d} uid 0`, `sif ${d} gid 0`);
    files.forEach((f, i) => {
      const local = join(tmp, `f${i}`);
      // Secret contents never sit world-readable on the host, even briefly.
      writeFileSync(local, f.data, { mode: 0o600 });
      if (targetStats[i]) cmds.push(`rm ${f.path}`);
      cmds.push(
        `write ${local} ${f.path}`,
        `sif ${f.path} mode 0${(0o100000 | (f.mode & 0o7777)).toString(8)}`,
        `sif ${f.path} uid ${f.uid ?? 0}`,
        `sif ${f.path} gid ${f.gid ?? 0}`,
      );
    });
    const r = runDebugfs(spec, cmds, true);
    if (r.errors.length) throw new VacfgError("IMAGE", `debugfs -w ${spec}: ${r.errors.join("; ")}`);

    // Read back: debugfs does not fail on most command errors, so trust only what is there now.
    const back = runDebugfs(spec, files.flatMap((f, i) => [`stat ${f.path}`, `dump ${f.path} ${join(tmp, `b${i}`)}`]), false);
    files.forEach((f, i) => {
      const want = typeof f.data === "string" ? Buffer.from(f.data, "utf8") : f.data;
      const st = parseStat(back.chunks[2 * i] ?? "");
      const got = existsSync(join(tmp, `b${i}`)) ? readFileSync(join(tmp, `b${i}`)) : undefined;
      if (!got || !got.equals(want) || !st || st.mode !== (f.mode & 0o7777) || st.uid !== (f.uid ?? 0) || st.gid !== (f.gid ?? 0)) {
        throw new VacfgError("IMAGE", `${spec}:${f.path}: read-back after write does not match`);
      }
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
