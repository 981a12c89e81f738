// The vacfg command as an operator runs it (the built CLI in a child process).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { projectRoot } from "./paths.js";

const run = promisify(execFile);

/** Resolves with the exit code, output and wall time; never rejects on a non-zero exit. */
export async function vacfgCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  try {
    const r = await run(process.execPath, [join(projectRoot, "dist/cli/vacfg.js"), ...args], { maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "", ms: Date.now() - t0 };
  }
}
