// The agent module of the vacfg-agent package's bundle (packaging/agent-bundle.ts), which its
// launcher (agent-launch.ts) loads: the agent, and for --local the server core, imported only then,
// so a normal run loads none of it.
import { runAgentCommand, type AgentCliOutcome } from "../agent/cli.js";

/** One agent run with the command line's options. */
export function agentMain(argv: string[]): Promise<AgentCliOutcome> {
  return runAgentCommand(argv, async (o, log) => (await import("./agent-local.js")).openLocal(o, log));
}
