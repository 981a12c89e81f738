// `vacfg info`: what the server would send a client, and bcfg2-info's everyday views of it
// (groups, bundles, probes, one file), from a core opened read-only (openCore {readOnly}):
// inspecting never registers a client, generates a key or writes the store.
import { parseProbes } from "../../protocol/documents/probes.js";
import { el, parseXml, serializeXml, type XmlElement } from "../../protocol/xml.js";
import { bindOne, buildConfiguration, type BuildOptions } from "../core/build-config.js";
import type { Core } from "../core/core.js";
import type { ClientMetadata } from "../core/metadata.js";
import { NOT_GENERATED_YET } from "../core/context.js";
import { maskSecrets } from "./mask-secrets.js";

export type InspectView = "config" | "groups" | "bundles" | "probes" | "file";

export interface InspectOptions {
  view: InspectView;
  /** --file PATH: the Path entry to render. */
  file?: string;
  showSecrets?: boolean;
  /** The configuration exactly as sent (no indentation). */
  raw?: boolean;
}

export interface InspectResult {
  /** What goes to stdout. */
  text: string;
  /** Entries the server could not build or bind, "TAG NAME: reason" (for stderr). */
  failures: string[];
  /** Keys that do not exist yet: created on the client's first run, which inspection does not do. */
  pending: string[];
  /** Secret contents masked (0 with showSecrets). */
  masked: number;
  /** Remarks for stderr. */
  notes: string[];
}

function buildOptions(core: Core): BuildOptions {
  return { plugins: core.plugins, logger: core.logger, timings: core.timings };
}

function failuresIn(root: XmlElement): { failures: string[]; pending: string[] } {
  const failures: string[] = [];
  const pending: string[] = [];
  const walk = (e: XmlElement) => {
    const f = e.attrs.failure;
    if (f !== undefined) (f.includes(NOT_GENERATED_YET) ? pending : failures).push(`${e.tag} ${e.attrs.name ?? ""}: ${f}`);
    e.children.forEach(walk);
  };
  walk(root);
  return { failures, pending };
}

async function isRegistered(core: Core, meta: ClientMetadata): Promise<boolean> {
  for (const p of core.plugins) if (p.listClients && p.buildMetadata) return (await p.listClients()).includes(meta.hostname);
  return true;
}

function list(xs: Iterable<string>): string {
  const a = [...xs].sort();
  return a.length ? a.join(", ") : "(none)";
}

async function groupsView(core: Core, meta: ClientMetadata): Promise<string> {
  const registered = await isRegistered(core, meta);
  return [
    `client:     ${meta.hostname}${registered ? "" : " (unknown: not registered; this is what its first run would get)"}`,
    `profile:    ${meta.profile || "(none)"}`,
    `groups:     ${list(meta.groups)}`,
    `categories: ${list([...meta.categories].map(([c, g]) => `${c}=${g}`))}`,
    `bundles:    ${list(meta.bundles)}`,
  ].join("\n");
}

function bundlesView(config: XmlElement): string {
  const rows = config.children.map((b) => {
    const failed = b.children.find((e) => e.attrs.failure !== undefined && e.attrs.name?.startsWith("bundle:"));
    const { failures, pending } = failuresIn(b);
    const extra = [failures.length ? `${failures.length} failed to bind` : "", pending.length ? `${pending.length} keys not generated yet` : ""].filter(Boolean);
    const what = failed ? `NOT BUILT: ${failed.attrs.failure}` : `${b.children.length} ${b.children.length === 1 ? "entry" : "entries"}${extra.length ? `, ${extra.join(", ")}` : ""}`;
    return `${b.tag === "Independent" ? "(independent) " : ""}${b.attrs.name ?? ""}: ${what}`;
  });
  return rows.length ? rows.join("\n") : "(no bundles)";
}

async function probesView(core: Core, meta: ClientMetadata): Promise<string> {
  const probes = parseProbes(await core.getProbes(meta.hostname));
  const lines = [`probes ${meta.hostname} runs:`];
  for (const p of probes) lines.push(`  ${p.name} (${p.source}, ${p.interpreter})`);
  if (!probes.length) lines.push("  (none)");
  const data = await core.store.getProbeData(meta.hostname);
  if (!data) {
    lines.push("probe data: none stored (the client has not sent any)");
  } else {
    lines.push(`probe data received ${new Date(data.timestamp).toISOString()}:`);
    for (const v of data.values) lines.push(`  ${v.name}: ${JSON.stringify(v.value)}`);
    lines.push(`probe groups: ${list(data.groups)}`);
  }
  return lines.join("\n");
}

function render(root: XmlElement, raw: boolean): string {
  return raw ? serializeXml(root) : serializeXml(parseXml(serializeXml(root), { keepBlankText: true }), { pretty: true });
}

/** Inspects one client; metadata errors (an unknown profile, a broken groups.xml) are thrown with their text. */
export async function inspectClient(core: Core, client: string, o: InspectOptions): Promise<InspectResult> {
  const meta = await core.buildMetadata(client);
  if (o.view === "groups") return { text: await groupsView(core, meta), failures: [], pending: [], masked: 0, notes: [] };
  if (o.view === "probes") return { text: await probesView(core, meta), failures: [], pending: [], masked: 0, notes: [] };
  const config = await buildConfiguration(meta, buildOptions(core));
  if (o.view === "bundles") return { text: bundlesView(config), ...failuresIn(config), masked: 0, notes: [] };
  let shown = config;
  const notes: string[] = [];
  if (o.view === "file") {
    const path = o.file ?? "";
    const inConfig = config.children.flatMap((b) => b.children).filter((e) => e.tag === "Path" && e.attrs.name === path);
    // Not in the client's bundles: bound on its own, as bcfg2-info buildfile does.
    shown = inConfig[0] ?? (await bindOne(el("Path", { name: path }), meta, buildOptions(core)));
    if (!inConfig.length) notes.push(`${path} is not in ${meta.hostname}'s bundles; shown bound on its own`);
  }
  const masked = o.showSecrets ? 0 : maskSecrets(shown);
  return { text: render(shown, o.raw === true), ...failuresIn(shown), masked, notes };
}
