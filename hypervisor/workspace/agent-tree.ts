// The agent as a directory tree for an appliance image: the compiled agent/ and protocol/ from
// dist/ plus exactly the npm packages they import (and those packages' dependencies), so the
// guest runs `node /opt/vacfg/dist/agent/main.js` without npm or network.
import { cp, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { moduleClosure, npmClosure } from "../../lib/module-closure.js";

/** Where the tree goes inside the image. */
export const GUEST_AGENT_DIR = "/opt/vacfg";
export const GUEST_AGENT_MAIN = `${GUEST_AGENT_DIR}/dist/agent/main.js`;

/** The dist/ folders the agent's modules import (agent imports protocol, nothing else of ours). */
const DIST_DIRS = ["agent", "lib", "protocol"];

async function jsFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = join(rel, e.name);
    if (e.isDirectory()) out.push(...(await jsFiles(dir, r)));
    else if (e.isFile() && e.name.endsWith(".js")) out.push(r);
  }
  return out;
}

/**
 * Writes the agent tree into `out` (which must not exist or be empty): dist/agent, dist/protocol
 * (.js only, so source maps do not change the image's content hash), node_modules closure,
 * package.json marking ES modules. `projectRoot` holds dist/ and node_modules/.
 */
export async function stageAgentTree(projectRoot: string, out: string): Promise<{ files: number; packages: string[] }> {
  const dist = join(projectRoot, "dist");
  let count = 0;
  for (const d of DIST_DIRS) {
    const files = await jsFiles(join(dist, d)).catch(() => {
      throw new VacfgError("IMAGE", `agent tree: ${join(dist, d)} is missing; build with npx tsc -p . first`);
    });
    for (const f of files) {
      await mkdir(join(out, "dist", d, f, ".."), { recursive: true });
      await cp(join(dist, d, f), join(out, "dist", d, f));
      count++;
    }
  }
  const nodeModules = join(projectRoot, "node_modules");
  // the npm packages the agent reaches from its entry (not every word "import" in a comment)
  const packages = await npmClosure(nodeModules, (await moduleClosure([join(dist, "agent", "main.js")])).packages);
  for (const p of packages) await cp(join(nodeModules, p), join(out, "node_modules", p), { recursive: true });
  await writeFile(join(out, "package.json"), JSON.stringify({ name: "vacfg-agent", private: true, type: "module" }, null, 2) + "\n");
  return { files: count, packages };
}
