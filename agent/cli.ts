// `vacfg agent`: parses the options, runs once, and returns bcfg2's exit code (0 finished,
// 1 fatal, 2 statistics upload failed). The CLI owner wires `vacfg agent` to runAgentCli.
import { isVacfgError } from "../protocol/errors.js";
import { createLogger } from "./log.js";
import { parseAgentArgs, USAGE } from "./options.js";
import { runAgent, type LocalServerOpener } from "./run.js";

/** bcfg2's exit code, and whether a run went to its end (not help, a usage error or a fatal error). */
export interface AgentCliOutcome {
  exitCode: number;
  ranToEnd: boolean;
}

/** argv: the options after `vacfg agent` (a leading "agent" is tolerated); openLocal serves --local. */
export async function runAgentCommand(argv: string[], openLocal?: LocalServerOpener): Promise<AgentCliOutcome> {
  let opts;
  try {
    opts = parseAgentArgs(argv[0] === "agent" ? argv.slice(1) : argv);
  } catch (e) {
    process.stderr.write(`vacfg agent: ${(e as Error).message}\n${USAGE}\n`);
    return { exitCode: 1, ranToEnd: false };
  }
  if (opts === "help") {
    process.stdout.write(USAGE + "\n");
    return { exitCode: 0, ranToEnd: false };
  }
  const log = createLogger(opts.logLevel);
  try {
    const { exitCode } = await runAgent(opts, log, undefined, openLocal);
    return { exitCode, ranToEnd: exitCode !== 1 };
  } catch (e) {
    log.error(`Fatal error: ${isVacfgError(e) ? `${e.code}: ` : ""}${(e as Error).stack ?? e}`);
    return { exitCode: 1, ranToEnd: false };
  }
}

/** runAgentCommand's exit code. */
export async function runAgentCli(argv: string[], openLocal?: LocalServerOpener): Promise<number> {
  return (await runAgentCommand(argv, openLocal)).exitCode;
}
