// Read-only access to the filesystem inside an image for attestation: any format patch-image
// knows (bare ext, MBR/GPT raw disk, qcow2 through a temporary raw copy), files addressed by
// inode number so guest names never pass through debugfs's command parser.
import { runCheckedSync } from "../../lib/host-tools.js";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { fsSpec, isSafeGuestPath, runDebugfs } from "../image/debugfs.js";
import { readAt } from "../image/partitions.js";
import { detectImageFormat, locateFilesystem, type ImageFormat } from "../image/patch-image.js";

export interface GuestView {
  format: ImageFormat;
  /** debugfs filesystem spec ("raw?offset=N"). */
  spec: string;
  /** Removes any temporary raw copy. */
  close(): void;
}

/** True when a qcow2 image names a backing file (its bytes alone then do not say what boots). */
export function qcow2HasBacking(image: string): boolean {
  const h = readAt(image, 8, 8);
  return h.length === 8 && h.readBigUInt64BE(0) !== 0n;
}

export function openGuestView(image: string): GuestView {
  const format = detectImageFormat(image);
  if (format !== "qcow2") {
    const loc = locateFilesystem(image);
    return { format, spec: fsSpec(image, loc.offset), close: () => undefined };
  }
  if (qcow2HasBacking(image)) throw new VacfgError("IMAGE", `${image}: qcow2 with a backing file; attest the flattened image or its base`);
  const dir = mkdtempSync(join(tmpdir(), "vacfg-attest-raw-"));
  try {
    const raw = join(dir, "image.raw");
    runCheckedSync("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", image, raw], { code: "IMAGE" });
    const loc = locateFilesystem(raw);
    return { format, spec: fsSpec(raw, loc.offset), close: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Runs debugfs read-only with a command list; returns stdout split per command. */
export function debugfsRead(spec: string, commands: string[]): string[] {
  return commands.length === 0 ? [] : runDebugfs(spec, commands, false).chunks;
}

/** Guest paths we name ourselves (config roots, well-known files): no characters debugfs would split on. */
export function checkGuestPath(p: string): void {
  if (!isSafeGuestPath(p)) {
    throw new VacfgError("ATTESTATION_INVALID", `guest path "${p}" must be absolute, without "..", of characters [A-Za-z0-9._+@=:,/-]`);
  }
}

export interface InodeInfo {
  ino: number;
  type: "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket";
  /** permission bits incl. setuid/setgid/sticky */
  perm: number;
  uid: number;
  gid: number;
  size: number;
}

const TYPE_BITS: Record<number, InodeInfo["type"]> = { 0o100000: "file", 0o040000: "dir", 0o120000: "symlink", 0o020000: "char", 0o060000: "block", 0o010000: "fifo", 0o140000: "socket" };

export function typeOfMode(mode: number): InodeInfo["type"] | undefined {
  return TYPE_BITS[mode & 0o170000];
}

/** stat output -> inode info (undefined when the path does not exist). */
export function parseStatChunk(text: string): InodeInfo | undefined {
  const i = /Inode:\s+(\d+)\s+Type:\s+(\S+)\s+Mode:\s+([0-7]+)/.exec(text);
  const u = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(text);
  const s = /Size:\s+(\d+)/.exec(text);
  if (!i || !u || !s) return undefined;
  const names: Record<string, InodeInfo["type"]> = { regular: "file", directory: "dir", symlink: "symlink", character: "char", block: "block", FIFO: "fifo", socket: "socket" };
  const type = names[i[2]];
  if (!type) return undefined;
  return { ino: Number(i[1]), type, perm: parseInt(i[3], 8), uid: Number(u[1]), gid: Number(u[2]), size: Number(s[1]) };
}

/** The link target: stat's "Fast link dest" for short links, else the dumped data block. */
export function symlinkTarget(statText: string, dumped: Buffer | undefined, size: number): Buffer {
  const m = /Fast link dest:\s+"(.*)"\s*$/m.exec(statText);
  if (m) return Buffer.from(m[1], "utf8");
  return (dumped ?? Buffer.alloc(0)).subarray(0, size);
}

/**
 * Contents of several inodes in one debugfs run (regular files and symlink targets).
 * Returns ino -> bytes.
 */
export function readInodes(spec: string, nodes: InodeInfo[]): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  const wanted = nodes.filter((n) => n.type === "file" || n.type === "symlink");
  if (!wanted.length) return out;
  const dir = mkdtempSync(join(tmpdir(), "vacfg-attest-dump-"));
  try {
    const cmds = wanted.flatMap((n) => [`stat <${n.ino}>`, `dump <${n.ino}> ${join(dir, String(n.ino))}`]);
    const chunks = debugfsRead(spec, cmds);
    wanted.forEach((n, k) => {
      const f = join(dir, String(n.ino));
      const data = existsSync(f) ? readFileSync(f) : undefined;
      if (n.type === "symlink") out.set(n.ino, symlinkTarget(chunks[2 * k] ?? "", data, n.size));
      else {
        // debugfs reports most failures only on stderr; a short or missing dump must not hash as real content
        if (!data || data.length !== n.size) throw new VacfgError("IMAGE", `${spec}: inode ${n.ino}: read ${data?.length ?? 0} of ${n.size} bytes`);
        out.set(n.ino, data);
      }
    });
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Stats of guest paths (symlinks not followed); undefined where absent. */
export function statPaths(spec: string, paths: string[]): (InodeInfo | undefined)[] {
  paths.forEach(checkGuestPath);
  const chunks = debugfsRead(spec, paths.map((p) => `stat ${p}`));
  return paths.map((_, i) => parseStatChunk(chunks[i] ?? ""));
}

/** Regular files by path, in two debugfs runs; undefined for absent or non-regular paths. */
export function readGuestRegularFiles(spec: string, paths: string[]): (Buffer | undefined)[] {
  const st = statPaths(spec, paths);
  const files = st.filter((s): s is InodeInfo => s?.type === "file");
  const data = readInodes(spec, files);
  return st.map((s) => (s?.type === "file" ? data.get(s.ino) : undefined));
}
