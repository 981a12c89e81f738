// `vacfg init DIR`: lays out a new site — repository skeleton, site CA and server
// certificate, site password, parameter signing key (ctx-signing.key/.pub) and vacfg.conf. Idempotent: what exists is never overwritten.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { CTX_PUBLIC_KEY, CTX_SIGNING_KEY, ensureCtxSigningKey } from "./ctx-signing-key.js";
import { createFileOnce } from "../../lib/atomic-file.js";
import { renderIni } from "../../lib/ini.js";
import { DEFAULT_PLUGINS, DEFAULT_PORT, defaultHostname } from "./server-config.js";
import { ensureTlsMaterial } from "./tls-material.js";

export interface InitOptions {
  /** CN of the server certificate (default: this machine's hostname). */
  hostname?: string;
  port?: number;
  listenHost?: string;
  /** Repository directory (default DIR/repo); written to vacfg.conf as an absolute path. */
  repository?: string;
  /** Data directory for the store, the admin password and generated state (default: DIR itself). */
  dataDir?: string;
}

export interface InitResult {
  dir: string;
  configPath: string;
  /** Paths created by this run (empty on a re-run over a complete site). */
  created: string[];
}

const REPO_DIRS = ["Metadata", "Bundler", "Rules", "Cfg", "Probes", "Properties", "Defaults", "Decisions", "SSHbase"];

const GROUPS_XML = `<Groups>
  <!-- The profile group a new client gets; add groups and bundles here. -->
  <Group name="default" profile="true" public="true" default="true"/>
</Groups>
`;

const CLIENTS_XML = `<Clients>
  <!-- Clients are added here the first time they connect (with the default profile). -->
</Clients>
`;

/** Creates the Bcfg2-layout repository skeleton unless `repo` already exists. */
export function createRepoSkeleton(repo: string): string[] {
  if (existsSync(repo)) return [];
  const created: string[] = [repo];
  for (const d of REPO_DIRS) mkdirSync(join(repo, d), { recursive: true });
  if (createFileOnce(join(repo, "Metadata/groups.xml"), GROUPS_XML)) created.push(join(repo, "Metadata/groups.xml"));
  if (createFileOnce(join(repo, "Metadata/clients.xml"), CLIENTS_XML)) created.push(join(repo, "Metadata/clients.xml"));
  return created;
}

/** The site password in DIR/password (mode 0600), created at random when missing. */
export function ensurePassword(path: string): { password: string; created: boolean } {
  const created = createFileOnce(path, randomBytes(18).toString("base64url") + "\n", 0o600);
  const password = readFileSync(path, "utf8").trim();
  if (!password) throw new VacfgError("SERVER_CONFIG", `${path}: the site password file is empty`);
  return { password, created };
}

export function renderServerConfig(password: string, opts: InitOptions = {}): string {
  return renderIni(
    [
      [
        "server",
        [
          ["repository", opts.repository ? resolve(opts.repository) : "repo"],
          ...(opts.dataDir ? [["data_dir", resolve(opts.dataDir)] as [string, string]] : []),
          ["plugins", DEFAULT_PLUGINS.join(",")],
          ["store", opts.dataDir ? join(resolve(opts.dataDir), "vacfg.db") : "vacfg.db"],
        ],
      ],
      [
        "communication",
        [
          ["protocol", "xmlrpc/ssl"],
          ["password", password],
          ["certificate", "tls/server.crt"],
          ["key", "tls/server.key"],
          ["ca", "tls/ca.crt"],
          ["listen_host", opts.listenHost ?? "0.0.0.0"],
          ["listen_port", String(opts.port ?? DEFAULT_PORT)],
        ],
      ],
      // Parameter files must be signed with the site key (ctx-signing.key, beside this file) to derive groups.
      ["context", [["public_key", CTX_PUBLIC_KEY]]],
    ],
    "# vacfg server configuration (bcfg2.conf section and key names). Paths are relative to this file.",
  );
}

export function initSite(dir: string, opts: InitOptions = {}): InitResult {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  const created = createRepoSkeleton(opts.repository ? resolve(opts.repository) : join(root, "repo"));
  if (opts.dataDir && !existsSync(opts.dataDir)) {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    created.push(resolve(opts.dataDir));
  }
  created.push(...ensureTlsMaterial(join(root, "tls"), opts.hostname ?? defaultHostname()));
  created.push(...ensureCtxSigningKey(join(root, CTX_SIGNING_KEY)));
  const pw = ensurePassword(join(root, "password"));
  if (pw.created) created.push(join(root, "password"));
  const configPath = join(root, "vacfg.conf");
  // The file holds the password, so it is private like the key.
  if (createFileOnce(configPath, renderServerConfig(pw.password, opts), 0o600)) created.push(configPath);
  return { dir: root, configPath, created };
}
