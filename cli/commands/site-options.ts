// The -c/-d/-r options `vacfg server` and `vacfg info` share, and the one rule for combining them:
// with -c the repository may be overridden (-r wins over [server] repository, and says so), the
// data directory may not (it is [server] data_dir there); nothing is silently ignored.
import type { Command } from "commander";
import { defaultSettings, ensureDefaults } from "../../server/admin/ensure-defaults.js";
import { loadServerConfig, type ServerConfig } from "../../server/admin/server-config.js";
import type { ServerSettings } from "../../server/core/context.js";
import { resolve } from "node:path";

export interface SiteOptions {
  config?: string;
  dataDir?: string;
  repo?: string;
}

export const DEFAULT_DATA_DIR = "vacfg-data";
export const DEFAULT_REPO = "repo";

export function addSiteOptions(cmd: Command, what: string): Command {
  return cmd
    .option("-c, --config <file>", "vacfg.conf (from vacfg init)")
    .option("-d, --data-dir <dir>", `without --config: data directory for TLS material, password and SQLite (default ${DEFAULT_DATA_DIR})`)
    .option("-r, --repo <dir>", `repository to ${what} (default ${DEFAULT_REPO}; with --config it replaces [server] repository)`);
}

function checkCombination(o: SiteOptions): void {
  if (o.config && o.dataDir) throw new Error(`-d/--data-dir cannot be combined with -c/--config: the data directory is [server] data_dir in ${o.config}`);
}

/** For `vacfg server`: the configuration file, or the embedded defaults (created when missing). */
export function siteConfig(o: SiteOptions, note: (line: string) => void): ServerConfig {
  checkCombination(o);
  if (!o.config) return ensureDefaults(o.dataDir ?? DEFAULT_DATA_DIR, { repo: o.repo ?? DEFAULT_REPO });
  const cfg = loadServerConfig(o.config);
  if (o.repo) {
    note(`repository ${resolve(o.repo)} (from -r; ${o.config} names ${cfg.settings.repo})`);
    cfg.settings.repo = resolve(o.repo);
  }
  return cfg;
}

/** For read-only commands: settings and store URL, creating nothing. */
export function siteSettings(o: SiteOptions, note: (line: string) => void): { settings: ServerSettings; storeUrl: string } {
  checkCombination(o);
  if (!o.config) return defaultSettings(o.dataDir ?? DEFAULT_DATA_DIR, o.repo ?? DEFAULT_REPO);
  return siteConfig(o, note);
}
