// The appliance image the workspace boots by default: the cached Debian + Node appliance
// (hypervisor/appliance) with the vacfg agent tree at /opt/vacfg, built once per agent build.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureApplianceImage, type ApplianceImage } from "../appliance/image.js";
import type { Progress } from "../appliance/cache.js";
import { GUEST_AGENT_DIR, stageAgentTree } from "./agent-tree.js";

/**
 * The image is keyed by the content of the tree, so an unchanged agent reuses the cached image
 * and a rebuilt one gets a new image (the old stays until the cache is cleaned). `packages`: the
 * Debian packages of the root filesystem (default the base appliance's; the cluster demo adds Slurm).
 */
export async function ensureAgentAppliance(projectRoot: string, cacheDir: string, progress: Progress, o: { packages?: string[] } = {}): Promise<ApplianceImage> {
  const stage = await mkdtemp(join(tmpdir(), "vacfg-agent-tree-"));
  try {
    const tree = await stageAgentTree(projectRoot, stage);
    progress(`agent tree: ${tree.files} modules, npm packages ${tree.packages.join(", ")}`);
    return await ensureApplianceImage(cacheDir, { trees: [{ from: stage, to: GUEST_AGENT_DIR }], ...(o.packages ? { packages: o.packages } : {}) }, progress);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
