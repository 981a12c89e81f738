// Stand-alone entry point (node dist/agent/main.js [options]) for images without the vacfg CLI.
import { runAgentCli } from "./cli.js";

process.exitCode = await runAgentCli(process.argv.slice(2));
