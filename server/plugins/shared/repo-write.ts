// Writing generated files (keys) into the repository without half-written results: the shared
// atomic writers of lib/, with the parent directories created first.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createFileOnce, writeFileAtomic as replaceAtomic } from "../../../lib/atomic-file.js";
import { noteRepoWrite } from "../../core/repo-trust.js";

/** Writes `data` to `path` atomically (readers see the old file or the whole new one). */
export async function writeFileAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  try {
    mkdirSync(dirname(path), { recursive: true });
    replaceAtomic(path, data, { mode });
  } finally {
    noteRepoWrite(); // cached listings and parses are checked again before the watcher's event arrives
  }
}

/**
 * Creates `path` with `data` only if it does not exist yet, atomically, also against other
 * processes sharing the repository. Returns false when another writer got there first.
 */
export async function createFileExclusive(path: string, data: string, mode = 0o644): Promise<boolean> {
  try {
    mkdirSync(dirname(path), { recursive: true });
    return createFileOnce(path, data, mode);
  } finally {
    noteRepoWrite();
  }
}
