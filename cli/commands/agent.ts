// `vacfg agent`: one Bcfg2 client run. Options are bcfg2's own (-n, -q, -S, -u, -x, …), parsed by
// the agent itself, so commander passes everything after `agent` through untouched. `--local REPO`
// is composed here: the agent talks to the server core in process (server/admin/local-server.ts).
import type { Command } from "commander";
import { pino } from "pino";
import { runAgentCli } from "../../agent/cli.js";
import type { LocalServerOpener } from "../../agent/run.js";
import { openLocalServer } from "../../server/admin/local-server.js";

/** The server core for `--local`: the client is -u NAME; the core logs only warnings, to stderr. */
export const openLocal: LocalServerOpener = (o) => openLocalServer({ repo: o.local, client: o.user, logger: pino({ level: "warn" }, pino.destination(2)) });

export function registerAgent(program: Command): void {
  program
    .command("agent")
    .description("run the in-guest agent once (bcfg2 client options; `vacfg agent --help` lists them; --local REPO needs no server)")
    .helpOption(false)
    .allowUnknownOption()
    .passThroughOptions()
    .argument("[options...]", "bcfg2 client options")
    .action(async (args: string[]) => {
      process.exitCode = await runAgentCli(args, openLocal);
    });
}
