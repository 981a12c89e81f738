// The agent for the vacfg-agent package: dist/cli/agent-main.js and everything it imports (saxes,
// …) bundled by esbuild into ES modules for Node 18 (Debian bookworm's nodejs, what appliances run).
// The entry is one file; the server core that --local needs is a second file it imports only for
// --local (esbuild code splitting), so a normal run parses none of it.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { VacfgError } from "../protocol/errors.js";

/** Node version the bundle is compiled for; the vacfg-agent package depends on it. */
export const AGENT_NODE_TARGET = "node18";
/**
 * node's options for the agent, in /usr/sbin/vacfg-agent (and bench/agent, which runs it so): the
 * system's CA store (OpenSSL's, what apt trusts) for the requests not checked against the site CA,
 * read lazily (agent/site-trust.ts) instead of node's bundled copy parsed at the first TLS context.
 */
export const AGENT_NODE_OPTIONS = ["--use-openssl-ca"];
/** The entry's file name in the bundle directory (what /usr/sbin/vacfg-agent runs). */
export const AGENT_ENTRY = "vacfg-agent.mjs";

/** Writes the bundle into `outDir` (created); returns its files' names, the entry first. */
export async function bundleAgent(projectRoot: string, outDir: string): Promise<string[]> {
  // esbuild is a build tool (devDependency): imported only here, so the installed command never loads it.
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (e) {
    throw new VacfgError("PACKAGE", `bundling the agent needs esbuild (npm install in the project): ${(e as Error).message}`);
  }
  await esbuild.build({
    entryPoints: { "vacfg-agent": join(projectRoot, "dist", "cli", "agent-main.js") },
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    chunkNames: "vacfg-agent-[name]-[hash]",
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: AGENT_NODE_TARGET,
    // Optional native parts (ssh2's crypto binding, cpu-features) are loaded in try/catch by their
    // packages: left out, they fall back to JavaScript and node:crypto.
    external: ["*.node"],
    // CommonJS dependencies need a real require (for node built-ins) and __dirname (ssh2's poly1305
    // module) in an ES module.
    banner: {
      js: [
        'import { createRequire as vacfgCreateRequire } from "node:module";',
        'import { dirname as vacfgDirname } from "node:path";',
        'import { fileURLToPath as vacfgFileURLToPath } from "node:url";',
        "const require = vacfgCreateRequire(import.meta.url);",
        "const __filename = vacfgFileURLToPath(import.meta.url);",
        "const __dirname = vacfgDirname(__filename);",
      ].join("\n"),
    },
    legalComments: "inline",
    logLevel: "warning",
  });
  const files = (await readdir(outDir)).filter((f) => f.endsWith(".mjs")).sort();
  if (!files.includes(AGENT_ENTRY)) throw new VacfgError("PACKAGE", `esbuild wrote no ${AGENT_ENTRY} in ${outDir}`);
  return [AGENT_ENTRY, ...files.filter((f) => f !== AGENT_ENTRY)];
}
