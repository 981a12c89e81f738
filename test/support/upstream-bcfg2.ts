// The real upstream Bcfg2 server and client from shared/bcfg2-ref, as test peers:
// installs the kit when missing (as root), starts a server on a free port, runs the real client.
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { bcfg2RefInstall, bcfg2RefKit } from "./paths.js";
import { freePort } from "../../harness/free-port.js";

export { freePort };

const run = promisify(execFile);

/** True when the upstream reference is installed (or could be installed now). */
export function ensureUpstreamInstalled(): boolean {
  if (existsSync(join(bcfg2RefInstall, "src/src/lib/Bcfg2"))) return true;
  if (!existsSync(join(bcfg2RefKit, "setup.sh")) || process.getuid?.() !== 0) return false;
  const r = spawnSync("bash", [join(bcfg2RefKit, "setup.sh"), bcfg2RefInstall], { stdio: "inherit" });
  return r.status === 0;
}

export interface UpstreamServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts the real bcfg2-server on a copy of `repo` (never modified) on a free port. `extraPlugins`
 * (e.g. GroupPatterns) are appended to the kit's fixed `[server] plugins`: the kit writes its
 * config at start, so the server is started once for that config, stopped, and restarted with
 * an edited copy given as a later `-C` (argparse keeps the last).
 */
export async function startUpstreamServer(repo: string, password = "labsecret", extraPlugins: string[] = []): Promise<UpstreamServer> {
  if (!ensureUpstreamInstalled()) throw new Error(`upstream Bcfg2 is not installed at ${bcfg2RefInstall} (run ${bcfg2RefKit}/setup.sh)`);
  const port = await freePort();
  const env = { ...process.env, BCFG2_REF: bcfg2RefInstall };
  const args = ["--repo", repo, "--port", String(port), "--password", password];
  const stop = async () => {
    await run(join(bcfg2RefInstall, "stop-server.sh"), ["--port", String(port)], { env }).catch(() => undefined);
  };
  await run(join(bcfg2RefInstall, "start-server.sh"), args, { env });
  if (extraPlugins.length) {
    await stop();
    const runDir = join(bcfg2RefInstall, "run", String(port));
    const conf = readFileSync(join(runDir, "bcfg2-server.conf"), "utf8").replace(/^plugins = (.*)$/m, (_l, list: string) => `plugins = ${[list, ...extraPlugins].join(",")}`);
    const edited = join(runDir, "bcfg2-server-plugins.conf");
    writeFileSync(edited, conf);
    await run(join(bcfg2RefInstall, "start-server.sh"), [...args, "-C", edited], { env });
  }
  return { url: `https://127.0.0.1:${port}`, port, stop };
}

/**
 * Calls one method through the kit's xmlrpc-call.py (Python's own xmlrpc.client). Asynchronous,
 * so a vacfg server in the same process keeps answering while Python waits.
 */
export async function upstreamCall(url: string, client: string, password: string, method: string, ...args: string[]): Promise<string> {
  const r = await run("/usr/bin/python3", [join(bcfg2RefInstall, "xmlrpc-call.py"), url, client, password, method, ...args], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return r.stdout;
}

export interface RealClientRun {
  status: number;
  output: string;
}

/** Runs the real upstream `bcfg2` client (dry run) against a server; `env` reaches the probes it runs. */
export async function runRealClient(url: string, client: string, password: string, args: string[] = [], env: Record<string, string> = {}): Promise<RealClientRun> {
  try {
    const r = await run(join(bcfg2RefInstall, "run-real-client.sh"), [url, client, password, ...args], {
      env: { ...process.env, ...env, BCFG2_REF: bcfg2RefInstall, BCFG2_CA: "" },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: 0, output: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof err.code === "number" ? err.code : 1, output: (err.stdout ?? "") + (err.stderr ?? "") };
  }
}
