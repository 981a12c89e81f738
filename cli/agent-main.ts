// The entry of the vacfg-agent package's bundle (packaging/agent-bundle.ts; /usr/sbin/vacfg-agent):
// the agent, and for --local the server core, imported only then, so a normal run loads none of it.
import { runAgentCli } from "../agent/cli.js";

process.exitCode = await runAgentCli(process.argv.slice(2), async (o, log) => (await import("./agent-local.js")).openLocal(o, log));
