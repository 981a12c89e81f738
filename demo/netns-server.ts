// Runs the configuration server as a child process inside a network namespace (config-server-main),
// so it listens on the namespace's bridge address where the guests are, and nowhere else.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { VacfgError } from "../protocol/errors.js";
import type { ConfigServerOptions } from "./config-server.js";

export interface NetnsServer {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "config-server-main.js");

export async function startServerInNetns(netns: string, o: ConfigServerOptions, timeoutMs = 30_000): Promise<NetnsServer> {
  const optsFile = join(o.dataDir, "server-options.json");
  await writeFile(optsFile, JSON.stringify(o), { mode: 0o600 });
  const child: ChildProcess = spawn("ip", ["netns", "exec", netns, process.execPath, MAIN, optsFile], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => { err = (err + d).slice(-4000); });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new VacfgError("VM", `config server in ${netns} did not start within ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(t);
      reject(new VacfgError("VM", `config server in ${netns} exited (${code}): ${err.trim()}`));
    });
  }).catch(async (e) => {
    child.kill("SIGKILL");
    throw e;
  });
  return {
    url: `https://${o.host}:${port}`,
    port,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
