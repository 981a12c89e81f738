// Real images for the image tests, built without root: mkfs.ext4 (bare or at a partition
// offset), sfdisk partition tables, and an independent debugfs reader for the checks.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

export function sh(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", input, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** debugfs -R on its own, so checks do not go through the code under test. */
export function debugfsRaw(spec: string, request: string): Buffer {
  const r = spawnSync("debugfs", ["-R", request, spec], { maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return r.stdout;
}

export function guestStat(spec: string, path: string): { mode: string; uid: number; gid: number; type: string } | undefined {
  const out = debugfsRaw(spec, `stat ${path}`).toString();
  const m = /Type:\s+(\S+)\s+Mode:\s+([0-7]+)/.exec(out);
  const u = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(out);
  return m && u ? { type: m[1], mode: m[2], uid: Number(u[1]), gid: Number(u[2]) } : undefined;
}

/** A bare ext4 filesystem image; `dirs` are created inside (as an installed system has /etc). */
export function mkExt4(path: string, sizeMiB: number, dirs: string[] = ["/etc"], offset = 0): void {
  if (offset === 0) sh("truncate", ["-s", `${sizeMiB}M`, path]);
  sh("mkfs.ext4", ["-F", "-q", ...(offset ? ["-E", `offset=${offset}`] : []), path, `${sizeMiB}M`]);
  const spec = offset ? `${path}?offset=${offset}` : path;
  for (const d of dirs) sh("debugfs", ["-w", "-R", `mkdir ${d}`, spec]);
}

export interface DiskPart {
  startSector: number;
  sizeMiB: number;
  /** directories to create in the partition's ext4; undefined: leave it unformatted */
  dirs?: string[];
  /** sfdisk type; "5" makes an MBR extended partition, and the entries after it inside its range become logical */
  type?: string;
}

/** A whole-disk raw image with an MBR ("dos") or GPT table, partitions formatted at their offsets. */
export function mkDisk(path: string, label: "dos" | "gpt", sizeMiB: number, parts: DiskPart[]): void {
  sh("truncate", ["-s", `${sizeMiB}M`, path]);
  const script = [`label: ${label}`, ...parts.map((p) => `start=${p.startSector}, size=${p.sizeMiB * 2048}, type=${p.type ?? (label === "dos" ? "83" : "L")}`)].join("\n") + "\n";
  sh("sfdisk", ["-q", path], script);
  for (const p of parts) if (p.dirs) mkExt4(path, p.sizeMiB, p.dirs, p.startSector * 512);
}

export function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export function e2fsckClean(spec: string): void {
  // -f force, -n read-only: exit 0 means no errors found; e2fsck also takes "image?offset=N"
  sh("e2fsck", ["-fn", spec]);
}
