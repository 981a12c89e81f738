// The Debian mirror apt already uses on this host (from /etc/apt/sources.list and
// sources.list.d/*.list|*.sources), which is the one debootstrap must use: no other is reachable.
import { readAptSources } from "../../lib/apt-sources.js";
import { VacfgError } from "../../protocol/errors.js";

/** The mirror serving `suite` itself (not -updates/-security) with the main component. */
export async function debianMirrorFor(suite: string, root = "/etc/apt"): Promise<string> {
  const sources = await readAptSources(root);
  const hit = sources.find((s) => s.suites.includes(suite) && (s.components.length === 0 || s.components.includes("main")));
  if (!hit) throw new VacfgError("IMAGE", `no apt source under ${root} serves suite ${suite} (main); debootstrap needs one`);
  return hit.uri;
}
