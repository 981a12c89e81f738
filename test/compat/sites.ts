// One repository served side by side by the real upstream Bcfg2 server and by vacfg
// (each on its own copy), with the same site password, for the compatibility suite.
import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { initSite } from "../../server/admin/init.js";
import { loadServerConfig } from "../../server/admin/server-config.js";
import { startServer, type StartedServer } from "../../server/start-server.js";
import { startUpstreamServer, upstreamCall, type UpstreamServer } from "../support/upstream-bcfg2.js";
import { parseXml, serializeXml, type XmlElement } from "../../protocol/xml.js";

export const SITE_PASSWORD = "labsecret";

export interface SideBySide {
  upstream: UpstreamServer;
  vacfg: StartedServer;
  /** The vacfg site directory (repo/, tls/, vacfg.db). */
  dir: string;
  /** Calls a method on both servers through Python's xmlrpc.client (the kit's xmlrpc-call.py). */
  both(client: string, password: string, method: string, ...args: string[]): Promise<{ upstream: string; vacfg: string }>;
  stop(): Promise<void>;
}

/** The plugins the kit's upstream server loads (start-server.sh). */
export const KIT_PLUGINS = ["Metadata", "Bundler", "Rules", "Cfg", "Probes", "Defaults", "Properties", "Decisions"];

export interface SideBySideOptions {
  /** vacfg's plugins (plus Reporting); default the kit's. */
  plugins?: string[];
  /** Added to the upstream kit's fixed plugin list (e.g. Packages, GroupPatterns). */
  upstreamPlugins?: string[];
  /** INI sections appended to both servers' configuration files ([encryption], [sslca_default], …). */
  extraConfig?: string;
  /** Upstream from the lab-patched copy (see labPatchedUpstream), for what the kit cannot run on Python 3. */
  labPatched?: boolean;
  /** Upstream's Reporting plugin: the lab-patched copy with Django, statistics stored by DirectStore/DjangoORM. */
  reporting?: boolean;
}

const UPSTREAM_REPORTING = "[reporting]\ntransport = DirectStore\nstorage = DjangoORM\n";

export async function sideBySide(repo: string, opts: SideBySideOptions = {}): Promise<SideBySide> {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-compat-"));
  cpSync(repo, join(dir, "repo"), { recursive: true });
  const { configPath } = initSite(dir, { hostname: "localhost" });
  if (opts.extraConfig) appendFileSync(configPath, `\n${opts.extraConfig}\n`);
  const config = loadServerConfig(configPath);
  config.settings.password = SITE_PASSWORD;
  if (opts.plugins) config.settings.plugins = [...opts.plugins, "Reporting"];
  config.listen = { host: "127.0.0.1", port: 0 };
  const logger = pino({ level: "warn" }, pino.destination({ dest: join(dir, "server.log"), sync: true }));
  const vacfg = await startServer({ ...config, logger });
  let upstream: UpstreamServer;
  try {
    upstream = opts.reporting
      ? await startUpstreamServer(repo, SITE_PASSWORD, [...(opts.upstreamPlugins ?? []), "Reporting"], { extraConfig: (opts.extraConfig ?? "") + UPSTREAM_REPORTING, django: true })
      : await startUpstreamServer(repo, SITE_PASSWORD, opts.upstreamPlugins, { extraConfig: opts.extraConfig, labPatched: opts.labPatched });
  } catch (e) {
    await vacfg.close();
    throw e;
  }
  return {
    upstream,
    vacfg,
    dir,
    // one after the other: both servers may issue certificates from one OpenSSL CA, whose `openssl ca`
    // keeps its serial and index files without a lock (two at once: "Unable to rename …/serial.new")
    both: async (client, password, method, ...args) => {
      const u = await upstreamCall(upstream.url, client, password, method, ...args);
      const v = await upstreamCall(vacfg.url, client, password, method, ...args);
      return { upstream: u, vacfg: v };
    },
    stop: async () => {
      await upstream.stop();
      await vacfg.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A RecvProbeData document: each (probe, output) pair as Bcfg2's client sends it. */
export function probeData(items: Array<[string, string]>): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<ProbeData>${items.map(([n, v]) => `<probe-data name="${n}" source="Probes">${esc(v)}</probe-data>`).join("")}</ProbeData>`;
}

/**
 * A client run on both servers up to the configuration: DeclareVersion, GetProbes, the given probe
 * data (which both must accept), then GetConfig, for each client in turn. Returns each client's
 * two GetConfig answers.
 */
export async function configsAfterProbes(s: SideBySide, probes: Record<string, Array<[string, string]>>): Promise<Map<string, { upstream: string; vacfg: string }>> {
  for (const [client, items] of Object.entries(probes)) {
    await s.both(client, SITE_PASSWORD, "DeclareVersion", "1.4.0pre2");
    await s.both(client, SITE_PASSWORD, "GetProbes");
    const r = await s.both(client, SITE_PASSWORD, "RecvProbeData", probeData(items));
    if (r.upstream.trim() !== "true" || r.vacfg.trim() !== "true") throw new Error(`RecvProbeData for ${client}: upstream ${r.upstream.trim()}, vacfg ${r.vacfg.trim()}`);
  }
  const configs = new Map<string, { upstream: string; vacfg: string }>();
  for (const client of Object.keys(probes)) configs.set(client, await s.both(client, SITE_PASSWORD, "GetConfig"));
  return configs;
}

/** Each entry of a GetConfig answer by bundle and entry; a failed bind is FAILED (the two servers' messages differ). */
export function configEntries(xml: string): Map<string, string> {
  const root = parseXml(xml.trim(), { keepBlankText: true });
  const out = new Map<string, string>();
  for (const b of root.children) {
    if (b.tag !== "Bundle" && b.tag !== "Independent") continue;
    for (const e of b.children) {
      const copy: XmlElement = { ...e, tail: undefined };
      out.set(`${b.attrs.name} ${e.tag}:${e.attrs.name}`, e.attrs.failure !== undefined ? "FAILED" : serializeXml(copy));
    }
  }
  return out;
}
