// `vacfg agent`: parses the options, runs once, and returns bcfg2's exit code (0 finished,
// 1 fatal, 2 statistics upload failed). The CLI owner wires `vacfg agent` to runAgentCli.
import { isVacfgError } from "../protocol/errors.js";
import { createLogger } from "./log.js";
import { parseAgentArgs, USAGE } from "./options.js";
import { runAgent, type LocalServerOpener } from "./run.js";

/** argv: the options after `vacfg agent` (a leading "agent" is tolerated); openLocal serves --local. */
export async function runAgentCli(argv: string[], openLocal?: LocalServerOpener): Promise<number> {
  let opts;
  try {
    opts = parseAgentArgs(argv[0] === "agent" ? argv.slice(1) : argv);
  } catch (e) {
    process.stderr.write(`vacfg agent: ${(e as Error).message}\n${USAGE}\n`);
    return 1;
  }
  if (opts === "help") {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  const log = createLogger(opts.logLevel);
  try {
    return (await runAgent(opts, log, undefined, openLocal)).exitCode;
  } catch (e) {
    log.error(`Fatal error: ${isVacfgError(e) ? `${e.code}: ` : ""}${(e as Error).stack ?? e}`);
    return 1;
  }
}
