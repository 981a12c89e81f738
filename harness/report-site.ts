// A small real site for the reporting tests: `vacfg init` into a temp dir, a repository with one
// bundle (/etc/motd from Cfg, a probe), the real server (startServer, real Core) on port 0, and
// helpers to run real client calls against it over HTTPS.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pino } from "pino";
import { initSite } from "../server/admin/init.js";
import { loadServerConfig, type ServerConfig } from "../server/admin/server-config.js";
import { startServer, type StartedServer } from "../server/start-server.js";
import { parseMethodResponse } from "../protocol/xmlrpc/parser.js";
import { serializeMethodCall } from "../protocol/xmlrpc/serializer.js";
import type { XmlRpcValue } from "../protocol/xmlrpc/values.js";

export const SITE_PASSWORD = "sitesecret-1234";
export const ADMIN_PASSWORD = "admin-pass-5678";

export const MOTD = "Welcome to the managed appliance.\n";

export const REPO_FILES: Record<string, string> = {
  "Metadata/groups.xml": `<Groups>
  <Group name="appliance" profile="true" public="true" default="true">
    <Bundle name="motd"/>
  </Group>
</Groups>
`,
  "Metadata/clients.xml": `<Clients>
</Clients>
`,
  "Bundler/motd.xml": `<Bundle name="motd">
  <Path name="/etc/motd"/>
  <Group name="probed">
    <Path name="/etc/probed"/>
  </Group>
</Bundle>
`,
  "Cfg/etc/motd/motd": MOTD,
  "Cfg/etc/probed/probed": "set from a probe group\n",
  "Probes/role": "#!/bin/sh\necho group:probed\n",
};

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
}

export interface ReportSite {
  dir: string;
  configPath: string;
  config: ServerConfig;
  caFile: string;
  cleanup(): void;
}

/** `vacfg init` plus our small repository; the store URL may point at PostgreSQL. */
export function makeSite(storeUrl?: string): ReportSite {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-reports-"));
  const { configPath } = initSite(dir, { hostname: "localhost" });
  const config = loadServerConfig(configPath);
  rmSync(config.settings.repo, { recursive: true, force: true });
  writeFiles(config.settings.repo, REPO_FILES);
  config.settings.password = SITE_PASSWORD;
  config.listen = { host: "127.0.0.1", port: 0 };
  if (storeUrl) config.storeUrl = storeUrl;
  return { dir, configPath, config, caFile: config.tlsFiles.ca, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startSiteServer(site: ReportSite, logFile = join(site.dir, "server.log")): Promise<StartedServer> {
  const logger = pino({ level: "info" }, pino.destination({ dest: logFile, sync: true }));
  return startServer({ ...site.config, logger, reporting: { adminPassword: ADMIN_PASSWORD } });
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTPS request to the site (CA-verified), with a keep-alive agent when given (false: a fresh
 * connection), from a chosen loopback source address when given (127.0.0.2 is "elsewhere" to the server).
 */
export function request(url: string, ca: string, opts: { method?: string; headers?: Record<string, string>; body?: string; agent?: https.Agent | false; from?: string } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? "GET", headers: opts.headers, ca, agent: opts.agent, servername: "localhost", ...(opts.from ? { localAddress: opts.from } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** One XML-RPC call as client `user`; resolves with the result or rejects with the fault. */
export async function xmlrpc(url: string, ca: string, user: string, password: string, method: string, params: XmlRpcValue[] = [], agent?: https.Agent): Promise<XmlRpcValue> {
  const body = serializeMethodCall({ methodName: method, params });
  const r = await request(`${url}/RPC2`, ca, {
    method: "POST",
    headers: { "Content-Type": "text/xml", Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` },
    body,
    agent,
  });
  if (r.status !== 200) throw new Error(`${method}: HTTP ${r.status}`);
  const resp = parseMethodResponse(r.body);
  if (resp.kind === "fault") throw new Error(`${method}: fault ${resp.faultCode}: ${resp.faultString}`);
  return resp.value;
}

/** A statistics document for a client run (what the agent sends), with one bad /etc/motd when dirty. */
export function statsDocument(state: "clean" | "dirty", opts: { badName?: string; extraPkg?: string } = {}): string {
  // Names may be hostile markup: escaped as the agent's serializer would, so the document stays well-formed.
  const attr = (v: string): string => v.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
  const bad =
    state === "dirty"
      ? `<Bad><Path name="${attr(opts.badName ?? "/etc/motd")}" type="file" owner="root" group="root" mode="644" current_exists="true" current_bdiff="${Buffer.from("--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new\n").toString("base64")}" qtext=""/></Bad>`
      : "<Bad/>";
  const extra = opts.extraPkg ? `<Extra><Package name="${attr(opts.extraPkg)}" type="deb" current_version="1.0" qtext=""/></Extra>` : "<Extra/>";
  const t = Date.now() / 1000;
  return (
    `<upload-statistics><Statistics total="2" good="${state === "dirty" ? 1 : 2}" state="${state}" version="2.0" revision="-1">` +
    `<Flags><Flag name="dry_run" value="False"/></Flags><Modified/>${extra}<Good/>${bad}` +
    `<OpStamps start="${t}" config_download="${t + 0.2}" inventory="${t + 0.5}" finished="${t + 0.6}"/></Statistics></upload-statistics>`
  );
}
