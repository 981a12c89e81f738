// Upstream's Core.build_metadata: initial metadata, then connector groups, then connector data.
// The core runs it for the calling client; templates run it for other clients (metadata.query).
import type { ClientMetadata } from "./metadata.js";
import type { AnyPlugin, MetadataRole } from "./roles.js";
import { pluginsByRole } from "./plugin-roles.js";

export async function buildClientMetadata(metadata: MetadataRole, plugins: readonly AnyPlugin[], client: string): Promise<ClientMetadata> {
  // Connectors key their data by the canonical name (upstream hands them the metadata's hostname).
  const name = metadata.canonicalName?.(client) ?? client;
  const { groupConnectors, dataConnectors } = pluginsByRole(plugins);
  let extra: string[] = [];
  for (let i = 0; i < groupConnectors.length; i++) {
    // Awaited only when it is a promise (roles.ts: most connectors answer without waiting).
    const answer = groupConnectors[i]!.additionalGroups!(name);
    const groups = answer instanceof Promise ? await answer : answer;
    if (groups.length) extra = extra.length ? extra.concat(groups) : groups;
  }
  const meta = await metadata.buildMetadata(name, extra);
  for (let i = 0; i < dataConnectors.length; i++) {
    const p = dataConnectors[i]!;
    if (p.name in meta.connectors) continue;
    const data = p.additionalData!(meta);
    meta.connectors[p.name] = data instanceof Promise ? await data : data;
  }
  return meta;
}
