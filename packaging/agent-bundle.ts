// The agent as ONE file: dist/agent/main.js and everything it imports (saxes, …) bundled by
// esbuild into an ES module for Node 18 (Debian bookworm's nodejs, what appliances run).
import { build } from "esbuild";
import { join } from "node:path";

/** Node version the bundle is compiled for; the vacfg-agent package depends on it. */
export const AGENT_NODE_TARGET = "node18";

export async function bundleAgent(projectRoot: string, outFile: string): Promise<void> {
  await build({
    entryPoints: [join(projectRoot, "dist", "agent", "main.js")],
    outfile: outFile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: AGENT_NODE_TARGET,
    // A CommonJS dependency that requires a node built-in needs a real require in an ES module.
    banner: { js: 'import { createRequire as vacfgCreateRequire } from "node:module";\nconst require = vacfgCreateRequire(import.meta.url);' },
    legalComments: "inline",
    logLevel: "warning",
  });
}
