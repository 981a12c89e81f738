// Upstream's Core.build_metadata: initial metadata, then connector groups, then connector data.
// The core runs it for the calling client; templates run it for other clients (metadata.query).
import type { ClientMetadata } from "./metadata.js";
import type { AnyPlugin, MetadataRole } from "./roles.js";

export async function buildClientMetadata(metadata: MetadataRole, plugins: AnyPlugin[], client: string): Promise<ClientMetadata> {
  // Connectors key their data by the canonical name (upstream hands them the metadata's hostname).
  const name = metadata.canonicalName?.(client) ?? client;
  const extra: string[] = [];
  for (const p of plugins) if (p.additionalGroups) extra.push(...(await p.additionalGroups(name)));
  const meta = await metadata.buildMetadata(name, extra);
  for (const p of plugins) {
    if (p.additionalData && !(p.name in meta.connectors)) meta.connectors[p.name] = await p.additionalData(meta);
  }
  return meta;
}
