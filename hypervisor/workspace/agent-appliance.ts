// The appliance image the workspace boots by default: the cached Debian + Node appliance
// (hypervisor/appliance) with the vacfg-agent package installed by dpkg; its command
// (GUEST_AGENT_COMMAND, /usr/sbin/vacfg-agent) is what the guest runs.
import { ensureApplianceImage, type ApplianceImage } from "../appliance/image.js";
import { checkAgentDeb } from "../appliance/agent-package.js";
import type { Progress } from "../appliance/cache.js";

/**
 * `agentDeb`: the vacfg-agent .deb (`npm run package`, or packaging's buildAgentPackage). The image
 * is keyed by the package's bytes, so an unchanged agent reuses the cached image and a rebuilt one
 * gets a new image (the old stays until the cache is cleaned). `packages`: the Debian packages of
 * the root filesystem (default the base appliance's; the cluster demo adds Slurm).
 */
export async function ensureAgentAppliance(agentDeb: string, cacheDir: string, progress: Progress, o: { packages?: string[] } = {}): Promise<ApplianceImage> {
  const agent = await checkAgentDeb(agentDeb);
  progress(`agent: ${agent.name} ${agent.version} (${agentDeb})`);
  return ensureApplianceImage(cacheDir, { debs: [agentDeb], ...(o.packages ? { packages: o.packages } : {}) }, progress);
}
