// authorizedkeys.xml: an authorized_keys file assembled from other Cfg public keys (bound for
// the named host or group) and literal keys, as upstream's CfgAuthorizedKeysGenerator.
import type { XmlElement } from "../../../protocol/xml.js";
import type { PluginContext } from "../../core/context.js";
import type { ClientMetadata } from "../../core/metadata.js";
import { fingerprint, recordBuildInput } from "../../core/build-inputs.js";
import { xmlMatch } from "../shared/xml-match.js";

interface Binder {
  bindEntry(entry: XmlElement, meta: ClientMetadata): Promise<void> | void;
}

/** Metadata for a bare group (upstream's ClientMetadata("dummy", group, [group], ...)). */
function groupMetadata(group: string): ClientMetadata {
  return {
    hostname: "dummy",
    profile: group,
    groups: new Set([group]),
    bundles: new Set(),
    aliases: new Set(),
    addresses: new Set(),
    categories: new Map(),
    connectors: {},
  };
}

export async function renderAuthorizedKeys(spec: XmlElement, meta: ClientMetadata, cfg: Binder, ctx: PluginContext): Promise<string> {
  const lines: string[] = [];
  for (const allow of xmlMatch(spec, meta).children.filter((c) => c.tag === "Allow")) {
    const options = allow.children
      .filter((c) => c.tag === "Option")
      .map((o) => (o.attrs.value ? `${o.attrs.name}=${o.attrs.value}` : (o.attrs.name ?? "")));
    let pubkey: string;
    const from = allow.attrs.from;
    if (from) {
      let keyMeta = meta;
      const category = allow.attrs.category;
      if (allow.attrs.host) {
        const host = allow.attrs.host;
        // Another client's metadata (its stored profile): a cached build checks it again.
        await recordBuildInput(meta, `Cfg:metadata:${host}`, async () => fingerprint(await ctx.metadata().buildMetadata(host, [])), { fromRepositoryAndStore: true });
        keyMeta = await ctx.metadata().buildMetadata(host, []);
      }
      else if (allow.attrs.group) keyMeta = groupMetadata(allow.attrs.group);
      else if (category && !meta.categories.has(category)) {
        ctx.logger.warn(`Cfg: ${meta.hostname} ignoring Allow from ${from}: No group in category ${category}`);
        continue;
      }
      const keyEntry: XmlElement = { tag: "Path", attrs: { name: from }, children: [] };
      try {
        await cfg.bindEntry(keyEntry, keyMeta);
      } catch {
        ctx.logger.info(`Cfg: ${meta.hostname} skipping Allow from ${from}: No key found`);
        continue;
      }
      if (!keyEntry.text) continue;
      pubkey = keyEntry.text;
    } else if (allow.text && allow.text.trim()) {
      pubkey = allow.text.trim();
    } else {
      continue;
    }
    lines.push([options.join(","), pubkey].join(" ").trim());
  }
  return lines.join("\n");
}
