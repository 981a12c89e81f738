// The vacfg-agent bundle's file names and code cache directory: what agent-bundle.ts writes and the
// bundle's launcher (cli/agent-launch.ts) reads. Constants only: the launcher bundles this file.

/** The launcher, what /usr/sbin/vacfg-agent runs: it loads the agent module with its code cache. */
export const AGENT_ENTRY = "vacfg-agent.cjs";
/** The agent module (cli/agent-main.ts) the launcher loads; it requires the bundle's other modules. */
export const AGENT_MODULE = "vacfg-agent-main.cjs";
/** The agent's V8 code cache (lib/code-cache.ts): regenerable, written by the first run that finds none usable. */
export const AGENT_CODE_CACHE_DIR = "/var/cache/vacfg-agent";
/** Names another cache directory for the launcher, or "off" for none. */
export const AGENT_CODE_CACHE_ENV = "VACFG_AGENT_CODE_CACHE";
