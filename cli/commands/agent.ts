// `vacfg agent`: one Bcfg2 client run. Options are bcfg2's own (-n, -q, -S, -u, -x, …), parsed by
// the agent itself, so commander passes everything after `agent` through untouched. `--local REPO`
// is composed in ../agent-local.ts: the agent talks to the server core in process (server/admin/local-server.ts).
import type { Command } from "commander";
import { runAgentCli } from "../../agent/cli.js";
import { openLocal } from "../agent-local.js";

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
