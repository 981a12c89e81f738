// Spawns test/support/vacfg-server-process.ts (a real vacfg server in its own process, optionally
// with --workers N) and waits for its URL; stop() ends it with SIGTERM, then SIGKILL.
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const SERVER_PROCESS_MAIN = join(dirname(fileURLToPath(import.meta.url)), "vacfg-server-process.js");

export interface ServerProcess {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export function spawnServer(configPath: string, storeUrl: string, o: { workers?: number; env?: Record<string, string>; logFile?: string } = {}): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [...(process.env.VACFG_SERVER_NODE_ARGS?.split(" ").filter(Boolean) ?? []), SERVER_PROCESS_MAIN, configPath, storeUrl, String(o.workers ?? 0)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...o.env, ...(o.logFile ? { VACFG_LOG_FILE: o.logFile } : {}) },
  });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const kill = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      proc.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      proc.kill("SIGTERM");
    });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`server did not start within 60 s: ${err}`));
    }, 60_000);
    proc.stderr!.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    proc.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /LISTENING (\S+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], proc, stop });
      }
    });
    proc.once("exit", (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`server process exited (${code ?? sig}) before listening: ${err}`));
    });
  });
}
