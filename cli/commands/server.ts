// `vacfg server`: run the configuration server from vacfg.conf, or from embedded defaults in a data directory.
import type { Command } from "commander";
import { ensureDefaults } from "../../server/admin/ensure-defaults.js";
import { loadServerConfig } from "../../server/admin/server-config.js";
import { startServer } from "../../server/http/start-server.js";

export function registerServer(program: Command): void {
  program
    .command("server")
    .description("serve the Bcfg2 XML-RPC protocol over HTTPS")
    .option("-c, --config <file>", "vacfg.conf (from vacfg init)")
    .option("-d, --data-dir <dir>", "without --config: data directory for TLS material, password and SQLite", "vacfg-data")
    .option("-r, --repo <dir>", "without --config: repository to serve", "repo")
    .option("--host <addr>", "listen address (overrides the configuration)")
    .option("-p, --port <n>", "listen port (overrides the configuration)")
    .action(async (opts: { config?: string; dataDir: string; repo: string; host?: string; port?: string }) => {
      const cfg = opts.config ? loadServerConfig(opts.config) : ensureDefaults(opts.dataDir, { repo: opts.repo });
      if (opts.host) cfg.listen.host = opts.host;
      if (opts.port) cfg.listen.port = Number(opts.port);
      const srv = await startServer(cfg);
      console.log(`vacfg server listening on ${srv.url}`);
      const stop = (): void => {
        void srv.close().then(() => process.exit(0));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
