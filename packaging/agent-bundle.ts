// The agent for the vacfg-agent package: dist/cli/agent-main.js and everything it imports, bundled by
// esbuild for Node 18 (Debian bookworm's nodejs, what appliances run) as CommonJS modules, and the
// launcher (cli/agent-launch.ts) that loads them with V8's code cache (lib/code-cache.ts): ES modules
// cannot be given a code cache. The agent module is one file, plus what it imports only when needed
// in files of their own (esbuild's code splitting, done in ES module form, each file then turned into
// CommonJS): the server core that --local needs, and the kernel command line's decoder (with zlib),
// so a normal run parses none of them; the modules they share with the agent are shared files, one
// instance in the process.
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { VacfgError } from "../protocol/errors.js";
import { AGENT_ENTRY, AGENT_MODULE } from "./agent-layout.js";

export { AGENT_ENTRY } from "./agent-layout.js";
/** Node version the bundle is compiled for; the vacfg-agent package depends on it. */
export const AGENT_NODE_TARGET = "node18";
/**
 * node's options for the agent, in /usr/sbin/vacfg-agent (and bench/agent, which runs it so):
 * - `--use-openssl-ca`: the system's CA store (OpenSSL's, what apt trusts) for the requests not
 *   checked against the site CA, read lazily (agent/site-trust.ts) instead of node's bundled copy
 *   parsed at the first TLS context;
 * - `--single-threaded-gc`: V8 collects the agent's small heap (a few MB) on the main thread. Its
 *   helper threads otherwise take a core from the programs the run starts (apt-get, dpkg, probes)
 *   and the server beside it, and the main thread waits for them (seen in scheduler traces: 2-3 ms
 *   stalls in a first run on 2 cores; 40 alternating first runs 181.9 -> 179.0 ms median). Node 18
 *   (Debian bookworm's) and 20 take it.
 */
export const AGENT_NODE_OPTIONS = ["--use-openssl-ca", "--single-threaded-gc"];

/**
 * The code with every character beyond ASCII written as its \u escape, as esbuild writes them in
 * code (left: those in the comments it keeps): one character beyond ASCII makes V8 hold the whole
 * source as two bytes per character, twice the memory to read, hash and scan. The escape means the
 * same character in a string, template, regular expression or name; in a comment it is never read.
 */
export function asciiOnly(code: string): string {
  return code.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Writes the bundle into `outDir` (created); returns its files' names, the launcher first. */
export async function bundleAgent(projectRoot: string, outDir: string): Promise<string[]> {
  // esbuild is a build tool (devDependency): imported only here, so the installed command never loads it.
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (e) {
    throw new VacfgError("PACKAGE", `bundling the agent needs esbuild (npm install in the project): ${(e as Error).message}`);
  }
  const common = { bundle: true, platform: "node", target: AGENT_NODE_TARGET, legalComments: "inline", logLevel: "warning" } as const;
  const split = await esbuild.build({
    ...common,
    entryPoints: { [AGENT_MODULE.replace(/\.cjs$/, "")]: join(projectRoot, "dist", "cli", "agent-main.js") },
    outdir: outDir,
    outExtension: { ".js": ".cjs" },
    chunkNames: "vacfg-agent-[name]-[hash]",
    splitting: true,
    format: "esm",
    // Optional native parts (ssh2's crypto binding, cpu-features) are loaded in try/catch by their
    // packages: left out, they fall back to JavaScript and node:crypto.
    external: ["*.node"],
    write: false,
  });
  await mkdir(outDir, { recursive: true });
  for (const f of split.outputFiles) {
    // imports between the files become require("./NAME.cjs"), import() of the --local file a
    // require when called; CommonJS dependencies keep their require, __dirname and __filename
    const cjs = await esbuild.transform(f.text, { format: "cjs", platform: "node", target: AGENT_NODE_TARGET, supported: { "dynamic-import": false }, legalComments: "inline", logLevel: "error" });
    await writeFile(join(outDir, basename(f.path)), asciiOnly(cjs.code));
  }
  await esbuild.build({ ...common, entryPoints: [join(projectRoot, "dist", "cli", "agent-launch.js")], outfile: join(outDir, AGENT_ENTRY), format: "cjs" });
  const files = (await readdir(outDir)).filter((f) => f.endsWith(".cjs")).sort();
  for (const f of [AGENT_ENTRY, AGENT_MODULE]) if (!files.includes(f)) throw new VacfgError("PACKAGE", `esbuild wrote no ${f} in ${outDir}`);
  return [AGENT_ENTRY, ...files.filter((f) => f !== AGENT_ENTRY)];
}
