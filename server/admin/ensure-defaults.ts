// The embedded defaults `vacfg server` runs on when no configuration file is given: TLS
// material and a site password under the data directory (created when missing), SQLite there.
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ensurePassword } from "./init.js";
import { DEFAULT_PLUGINS, DEFAULT_PORT, defaultHostname, type ServerConfig } from "./server-config.js";
import { ensureTlsMaterial, tlsPaths } from "./tls-material.js";

export interface DefaultsOptions {
  /** Repository to serve (default DATADIR/repo). */
  repo?: string;
  hostname?: string;
  listen?: { host: string; port: number };
}

export function ensureDefaults(dataDir: string, opts: DefaultsOptions = {}): ServerConfig {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tlsDir = join(dir, "tls");
  ensureTlsMaterial(tlsDir, opts.hostname ?? defaultHostname());
  const { password } = ensurePassword(join(dir, "password"));
  const p = tlsPaths(tlsDir);
  return {
    settings: {
      repo: resolve(opts.repo ?? join(dir, "repo")),
      dataDir: dir,
      password,
      plugins: DEFAULT_PLUGINS,
      defaultAuth: "cert+password",
      allowedProbeGroups: [],
    },
    listen: opts.listen ?? { host: "0.0.0.0", port: DEFAULT_PORT },
    tls: { cert: readFileSync(p.cert, "utf8"), key: readFileSync(p.key, "utf8"), ca: readFileSync(p.caCert, "utf8") },
    tlsFiles: { cert: p.cert, key: p.key, ca: p.caCert },
    storeUrl: join(dir, "vacfg.db"),
  };
}
