// `vacfg image patch`: a parameter file and any other files uploaded into an image without root,
// as virt-customize's --upload does, through patchImage (one verified, atomic write for all).
import { readFileSync, statSync } from "node:fs";
import { VacfgError } from "../../protocol/errors.js";
import { CONTEXT_FILE_PATH, parseSignedParameterFile } from "../../protocol/params.js";
import type { GuestFile } from "./debugfs.js";
import { isSafeGuestPath } from "./debugfs.js";
import { patchImage, type PatchOptions, type PatchResult } from "./patch-image.js";

export interface UploadSpec {
  src: string;
  dest: string;
  mode: number;
}

/**
 * "SRC:DEST:MODE": MODE is octal permission bits (e.g. 0644, 600), DEST an absolute guest path.
 * Split from the right, so SRC may itself contain ':'.
 */
export function parseUploadSpec(spec: string): UploadSpec {
  const parts = spec.split(":");
  if (parts.length < 3) throw new VacfgError("IMAGE", `--file ${spec}: expected SRC:DEST:MODE (e.g. ./motd:/etc/motd:0644)`);
  const modeText = parts.pop()!;
  const dest = parts.pop()!;
  const src = parts.join(":");
  if (src === "") throw new VacfgError("IMAGE", `--file ${spec}: SRC is empty`);
  if (!/^0?[0-7]{3,4}$/.test(modeText) || parseInt(modeText, 8) > 0o7777) throw new VacfgError("IMAGE", `--file ${spec}: MODE "${modeText}" is not octal permission bits such as 0644 (at most 07777)`);
  if (!dest.startsWith("/")) throw new VacfgError("IMAGE", `--file ${spec}: DEST "${dest}" is not an absolute path in the image`);
  if (!isSafeGuestPath(dest) || dest.endsWith("/")) throw new VacfgError("IMAGE", `--file ${spec}: DEST "${dest}" must be a file path without "..", of characters [A-Za-z0-9._+@=:,/-]`);
  return { src, dest, mode: parseInt(modeText, 8) };
}

function readSource(path: string, what: string): Buffer {
  try {
    if (!statSync(path).isFile()) throw new VacfgError("IMAGE", `${what} ${path}: not a regular file`);
    return readFileSync(path);
  } catch (e) {
    if (e instanceof VacfgError) throw e;
    throw new VacfgError("IMAGE", `${what} ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`, { cause: e });
  }
}

export interface UploadOptions extends PatchOptions {
  /** A parameter file (validated first), delivered to CONTEXT_FILE_PATH as it is. */
  params?: string;
  files?: UploadSpec[];
}

/**
 * Validates everything (parameter file, sources, duplicate destinations) before the image is
 * touched, then writes all files in one patchImage. The parameter file keeps its bytes; it is
 * 0600 unless the source is world-readable (`vacfg ctx assemble` writes files with secrets 0600).
 */
export function uploadIntoImage(image: string, o: UploadOptions): PatchResult & { files: GuestFile[] } {
  const files: GuestFile[] = [];
  if (o.params !== undefined) {
    const data = readSource(o.params, "parameter file");
    parseSignedParameterFile(data.toString("utf8"), o.params);
    const worldReadable = (statSync(o.params).mode & 0o004) !== 0;
    files.push({ path: CONTEXT_FILE_PATH, data, mode: worldReadable ? 0o644 : 0o600, uid: 0, gid: 0 });
  }
  for (const f of o.files ?? []) files.push({ path: f.dest, data: readSource(f.src, "--file source"), mode: f.mode, uid: 0, gid: 0 });
  if (files.length === 0) throw new VacfgError("IMAGE", "nothing to upload: give a parameter file and/or --file SRC:DEST:MODE");
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new VacfgError("IMAGE", `${f.path} is uploaded twice`);
    seen.add(f.path);
  }
  return { ...patchImage(image, files, o), files };
}
