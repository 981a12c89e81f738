// The appliance image tests boot: the cached Debian + Node appliance with the vacfg-agent package
// built from this project (packaging/, as `npm run package` builds it) installed by dpkg.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Progress } from "../hypervisor/appliance/cache.js";
import type { ApplianceImage } from "../hypervisor/appliance/image.js";
import { ensureAgentAppliance } from "../hypervisor/workspace/agent-appliance.js";
import { buildAgentPackage, type BuiltPackage } from "../packaging/packages.js";

/** Builds the vacfg-agent .deb into a temporary directory for `fn`, removed after. */
export async function withProjectAgentDeb<T>(projectRoot: string, fn: (deb: BuiltPackage) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "vacfg-agent-deb-"));
  try {
    return await fn(await buildAgentPackage(projectRoot, dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The image is cached by the package's bytes: an unchanged agent reuses it, a changed bundle builds a new one. */
export function projectAgentAppliance(projectRoot: string, cacheDir: string, progress: Progress, o: { packages?: string[] } = {}): Promise<ApplianceImage> {
  return withProjectAgentDeb(projectRoot, (deb) => ensureAgentAppliance(deb.path, cacheDir, progress, o));
}
