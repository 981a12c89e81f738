// The vacfg-agent package's program (/usr/sbin/vacfg-agent runs it; packaging/agent-bundle.ts makes
// it vacfg-agent.cjs): loads the agent's modules from its own directory with their V8 code cache
// (lib/code-cache.ts), runs the agent, and after a run that went to its end without a usable cache,
// writes one for the next run.
import { dirname } from "node:path";
import { cachedModuleLoader } from "../lib/code-cache.js";
import { AGENT_CODE_CACHE_DIR, AGENT_CODE_CACHE_ENV, AGENT_MODULE } from "../packaging/agent-layout.js";
import type { agentMain } from "./agent-main.js";

const chosen = process.env[AGENT_CODE_CACHE_ENV] || AGENT_CODE_CACHE_DIR;
// process.argv[1] is this file's absolute path, in the bundle's directory
const loader = cachedModuleLoader(dirname(process.argv[1]!), chosen === "off" ? null : chosen);
const { agentMain: main } = loader.load(AGENT_MODULE) as { agentMain: typeof agentMain };
void main(process.argv.slice(2)).then(({ exitCode, ranToEnd }) => {
  process.exitCode = exitCode;
  if (ranToEnd) loader.save();
});
