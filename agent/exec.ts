// Running a command for a tool or a probe (lib/host-tools), with bcfg2's conventions: a missing
// program is exit 127 instead of an exception, a killed one 128+signal, a timeout said in stderr.
import { constants } from "node:os";
import { runTool } from "../lib/host-tools.js";
import type { ExecOptions, ExecResult } from "./tools/tool.js";

export async function execCommand(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  try {
    const r = await runTool(argv[0], argv.slice(1), opts);
    const stderr = r.stderr + (r.timedOut ? `\n${argv[0]}: killed after ${opts.timeoutMs} ms` : "");
    return { code: r.code ?? 128 + (r.signal ? constants.signals[r.signal] : 0), stdout: r.stdout, stderr };
  } catch (e) {
    return { code: 127, stdout: "", stderr: `${argv[0]}: ${(e as Error).message}` };
  }
}

/**
 * Resolved on the event loop's next turn, once what came meanwhile has been handled. A program
 * started holds this thread for a fork (1-2.5 ms with the agent's heap); where a TLS handshake is
 * under way (upstream's server makes each in its one accepting thread, waiting on the client), its
 * next flight goes between two such holds instead of after both.
 */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
