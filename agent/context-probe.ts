// The built-in `vacfg-context` probe: the contextualization parameters this appliance was given
// (found by agent/context/locate-params: patched file, kernel command line, DHCP, NoCloud), sent as
// JSON probe data next to the server's probes, with the site's signature ("@node"/"@signature")
// that the server checks before the parameters derive any group.
import type { ProbeDataItem } from "../protocol/documents/probes.js";
import { CONTEXT_PROBE_NAME, parameterFileToJson } from "../protocol/params.js";
import { locateParameters } from "./context/locate-params.js";
import type { Logger } from "./log.js";

/** `caPem`: the agent's CA (--ca), which an https parameter location must chain to as well. */
export async function contextProbeData(root: string, log: Logger, caPem?: string): Promise<ProbeDataItem | undefined> {
  try {
    const found = await locateParameters({ root, ...(caPem ? { caPem } : {}) });
    if (!found) {
      log.debug("no contextualization parameters found");
      return undefined;
    }
    log.info(`contextualization parameters from ${found.source} (${found.origin}), ${found.signature ? `signed for ${found.signature.node}` : "unsigned"}`);
    // Source "Probes": the server hands probe data to the plugin its source names, and the Probes
    // plugin stores any probe's value, so templates find it as metadata.Probes['vacfg-context']
    // whether or not the repository ships a probe of that name.
    return { name: CONTEXT_PROBE_NAME, source: "Probes", output: JSON.stringify(parameterFileToJson(found.params, found.signature)) };
  } catch (e) {
    // a broken parameter file must not stop the run: the server's own probes and config still apply
    log.error(`contextualization parameters: ${(e as Error).message}`);
    return undefined;
  }
}
