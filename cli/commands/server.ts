// `vacfg server`: run the configuration server from vacfg.conf, or from embedded defaults in a data directory.
import type { Command } from "commander";
import { ensureDefaults } from "../../server/admin/ensure-defaults.js";
import { loadServerConfig } from "../../server/admin/server-config.js";
import { startServer } from "../../server/http/start-server.js";
import { loadAdminPassword } from "../../server/reporting/admin-session.js";
import { workspaceRouter } from "../../hypervisor/workspace/api.js";
import { loadWorkspaceConfig, openWorkspace } from "../../hypervisor/workspace/config.js";

const WORKSPACE_API_PATH = "/api/v1";

export function registerServer(program: Command): void {
  program
    .command("server")
    .description("serve the Bcfg2 XML-RPC protocol over HTTPS")
    .option("-c, --config <file>", "vacfg.conf (from vacfg init)")
    .option("-d, --data-dir <dir>", "without --config: data directory for TLS material, password and SQLite", "vacfg-data")
    .option("-r, --repo <dir>", "without --config: repository to serve", "repo")
    .option("--host <addr>", "listen address (overrides the configuration)")
    .option("-p, --port <n>", "listen port (overrides the configuration)")
    .option("-w, --workspace <file>", "also serve the workspace API (deploy/manage VMs) at /api/v1 from this workspace configuration")
    .action(async (opts: { config?: string; dataDir: string; repo: string; host?: string; port?: string; workspace?: string }) => {
      const cfg = opts.config ? loadServerConfig(opts.config) : ensureDefaults(opts.dataDir, { repo: opts.repo });
      if (opts.host) cfg.listen.host = opts.host;
      if (opts.port) cfg.listen.port = Number(opts.port);
      const ws = opts.workspace ? await openWorkspace(loadWorkspaceConfig(opts.workspace)) : undefined;
      const adminPassword = loadAdminPassword(cfg.settings.dataDir);
      const srv = await startServer({
        ...cfg,
        ...(ws ? { routes: (app) => void app.use(WORKSPACE_API_PATH, workspaceRouter(ws.service, { adminPassword })) } : {}),
      });
      console.log(`vacfg server listening on ${srv.url}${ws ? ` (workspace API at ${WORKSPACE_API_PATH})` : ""}`);
      const stop = (): void => {
        void srv
          .close()
          .then(() => ws?.close())
          .then(() => process.exit(0));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
