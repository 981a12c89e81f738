// The built-in `vacfg-context` probe: the contextualization parameters this appliance was given
// (found by agent/context/locate-params), sent as JSON probe data next to the server's probes.
import { CONTEXT_PROBE_NAME, parameterFileToJson, type ParameterFile } from "../protocol/params.js";
import type { ProbeDataItem } from "../protocol/documents/probes.js";
import type { Logger } from "./log.js";

type Locator = (opts: { root: string }) => unknown;

/**
 * The one call site of the parameter locator. It is loaded by name at run time so the agent
 * works (without context) on images built before the locator existed.
 */
export async function contextProbeData(root: string, log: Logger): Promise<ProbeDataItem | undefined> {
  let locate: Locator | undefined;
  try {
    const modPath = "./context/locate-params.js";
    const mod = (await import(modPath)) as Record<string, unknown>;
    locate = (mod.locateParams ?? mod.locateParameters ?? mod.default) as Locator | undefined;
  } catch (e) {
    log.debug(`no parameter locator: ${(e as Error).message}`);
    return undefined;
  }
  if (typeof locate !== "function") return undefined;
  try {
    let found = await locate({ root });
    if (found && typeof found === "object" && !(found instanceof Map) && "params" in found) found = (found as { params: unknown }).params;
    if (!(found instanceof Map)) return undefined;
    return { name: CONTEXT_PROBE_NAME, source: "vacfg", output: JSON.stringify(parameterFileToJson(found as ParameterFile)) };
  } catch (e) {
    log.error(`contextualization parameters: ${(e as Error).message}`);
    return undefined;
  }
}
