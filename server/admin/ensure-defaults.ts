// The embedded defaults `vacfg server` runs on when no configuration file is given: TLS
// material, a site password and the parameter signing key under the data directory (created
// when missing), SQLite there.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CTX_SIGNING_KEY, ensureCtxSigningKey, publicKeyPathFor } from "./ctx-signing-key.js";
import { ensurePassword } from "./init.js";
import { DEFAULT_PLUGINS, DEFAULT_PORT, defaultHostname, type ServerConfig } from "./server-config.js";
import { ensureTlsMaterial, tlsPaths } from "./tls-material.js";
import type { ServerSettings } from "../core/context.js";

export interface DefaultsOptions {
  /** Repository to serve (default DATADIR/repo). */
  repo?: string;
  hostname?: string;
  listen?: { host: string; port: number };
}

/** The settings and store of the embedded defaults, without creating anything (for read-only `vacfg info`). */
export function defaultSettings(dataDir: string, repo?: string): { settings: ServerSettings; storeUrl: string } {
  const dir = resolve(dataDir);
  const publicKey = publicKeyPathFor(join(dir, CTX_SIGNING_KEY));
  const contextKeys = existsSync(publicKey) ? [readFileSync(publicKey, "utf8")] : [];
  return {
    settings: { repo: resolve(repo ?? join(dir, "repo")), dataDir: dir, password: "", plugins: DEFAULT_PLUGINS, defaultAuth: "cert+password", allowedProbeGroups: [], contextKeys },
    storeUrl: join(dir, "vacfg.db"),
  };
}

export function ensureDefaults(dataDir: string, opts: DefaultsOptions = {}): ServerConfig {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tlsDir = join(dir, "tls");
  ensureTlsMaterial(tlsDir, opts.hostname ?? defaultHostname());
  const { password } = ensurePassword(join(dir, "password"));
  const p = tlsPaths(tlsDir);
  // The site's parameter signing key: `npm run demo` signs with it, the server checks with its public half.
  ensureCtxSigningKey(join(dir, CTX_SIGNING_KEY));
  const { settings, storeUrl } = defaultSettings(dir, opts.repo);
  return {
    settings: { ...settings, password },
    listen: opts.listen ?? { host: "0.0.0.0", port: DEFAULT_PORT },
    tls: { cert: readFileSync(p.cert, "utf8"), key: readFileSync(p.key, "utf8"), ca: readFileSync(p.caCert, "utf8") },
    tlsFiles: { cert: p.cert, key: p.key, ca: p.caCert },
    storeUrl,
  };
}
