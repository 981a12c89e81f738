// Test fixture for the Cfg and SSHbase plugins: a real repository in a temp directory, client
// metadata as the core would build it, and a PluginContext whose metadata role lists fixed clients.
import type { PropertyData } from "../../../../server/plugins/shared/template-data/properties-view.js";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pino } from "pino";
import type { PluginContext } from "../../../../server/core/context.js";
import type { ClientMetadata, ProbeValueView } from "../../../../server/core/metadata.js";
import type { MetadataRole } from "../../../../server/core/roles.js";
import type { Store } from "../../../../server/store/store.js";
import { el, parseXml, serializeXml, type XmlElement } from "../../../../protocol/xml.js";

export interface TempRepo {
  root: string;
  write(rel: string, content: string | Buffer, mode?: number): string;
  cleanup(): void;
}

export function tempRepo(): TempRepo {
  const root = mkdtempSync(join(tmpdir(), "vacfg-cfg-test-"));
  return {
    root,
    write(rel, content, mode) {
      const p = join(root, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content, mode !== undefined ? { mode } : undefined);
      return p;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function probeValue(value: string): ProbeValueView {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    json = undefined;
  }
  return { value, json, toString: () => value };
}

export interface MetaOptions {
  groups?: string[];
  profile?: string;
  aliases?: string[];
  addresses?: string[];
  categories?: Record<string, string>;
  connectors?: Record<string, unknown>;
}

export function clientMeta(hostname: string, o: MetaOptions = {}): ClientMetadata {
  const groups = o.groups ?? [];
  return {
    hostname,
    profile: o.profile ?? groups[0] ?? "",
    groups: new Set(groups),
    bundles: new Set(),
    aliases: new Set(o.aliases ?? []),
    addresses: new Set(o.addresses ?? []),
    categories: new Map(Object.entries(o.categories ?? {})),
    connectors: o.connectors ?? {},
  };
}

/** A metadata role over a fixed client table (the SSHbase tests need other clients' names). */
export function fixedMetadata(clients: ClientMetadata[]): MetadataRole {
  const byName = new Map(clients.map((c) => [c.hostname, c]));
  const get = (name: string) => {
    const c = byName.get(name);
    if (!c) throw new Error(`unknown client ${name}`);
    return c;
  };
  return {
    authenticate: async () => undefined,
    buildMetadata: async (client) => get(client),
    setProfile: async () => undefined,
    setVersion: async () => undefined,
    listClients: async () => [...byName.keys()],
    clientNames: async (client) => {
      const c = get(client);
      return { names: [c.hostname, ...c.aliases], addresses: [...c.addresses] };
    },
  };
}

export function pluginContext(repo: string, clients: ClientMetadata[] = []): PluginContext {
  return {
    settings: {
      repo,
      dataDir: repo,
      password: "x",
      plugins: ["Cfg", "SSHbase"],
      defaultAuth: "cert+password",
      allowedProbeGroups: [],
    },
    // Neither plugin touches the store.
    store: undefined as unknown as Store,
    logger: pino({ level: "silent" }),
    metadata: () => fixedMetadata(clients),
    plugins: () => [],
  };
}

/** Binds `name` as the core does: a failure becomes failure="bind error: ..." on the entry. */
export async function bindPath(
  plugin: { bindEntry(e: XmlElement, m: ClientMetadata): Promise<void> | void },
  name: string,
  meta: ClientMetadata,
): Promise<XmlElement> {
  const entry = el("Path", { name });
  try {
    await plugin.bindEntry(entry, meta);
  } catch (e) {
    entry.attrs.failure = `bind error: ${(e as Error).message}`;
  }
  return entry;
}

export function xml(e: XmlElement): string {
  return serializeXml(e);
}

/** The Properties connector's data for these XML files (as the Properties plugin hands it over). */
export function propertiesConnector(files: Record<string, string>): Record<string, PropertyData> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { name: k, kind: "xml", root: parseXml(v, { source: k }), automatch: false }]));
}

/** Variables both template-language corpora (Genshi, Cheetah) render with, here and in the real engine. */
export const CORPUS_VARS = {
  host: "node0",
  groups: ["torque-head", "cluster", "bookworm"],
  nodes: [
    { name: "node0", np: 8, props: "head" },
    { name: "node1", np: 16, props: "compute,gpu" },
  ],
  probes: { cpus: "8\n", arch: "amd64\n" },
  nothing: null,
  n: 7,
};
