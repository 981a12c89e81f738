// `vacfg server`: run the configuration server from vacfg.conf, or from embedded defaults in a data directory.
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { addSiteOptions, siteConfig, type SiteOptions } from "./site-options.js";
import { startServer } from "../../server/start-server.js";
import { adminPasswordSource } from "../../server/reporting/admin-session.js";
import { workspaceRouter } from "../../hypervisor/workspace/api.js";
import { loadWorkspaceConfig, openWorkspace, type OpenWorkspace } from "../../hypervisor/workspace/config.js";
import { serveClustered } from "../../server/http/workers.js";
import { stopOnSignals } from "../../server/http/stop-on-signals.js";
import { notifyReady } from "../../server/http/sd-notify.js";
import { tuneServerHeap } from "../../server/heap-settings.js";

const WORKSPACE_API_PATH = "/api/v1";

export function registerServer(program: Command): void {
  const cmd = program
    .command("server")
    .description("serve the Bcfg2 XML-RPC protocol over HTTPS");
  addSiteOptions(cmd, "serve")
    .option("--host <addr>", "listen address (overrides the configuration)")
    .option("-p, --port <n>", "listen port (overrides the configuration)")
    .option("-w, --workspace <file>", "also serve the workspace API (deploy/manage VMs) at /api/v1 from this workspace configuration")
    .option("--workers <n>", "serve with N processes (Node's cluster module) over the same store; a worker that dies is restarted")
    .action(async (opts: SiteOptions & { host?: string; port?: string; workspace?: string; workers?: string }) => {
      tuneServerHeap();
      const cfg = siteConfig(opts, (line) => console.log(`vacfg server: ${line}`));
      if (opts.host) cfg.listen.host = opts.host;
      if (opts.port) cfg.listen.port = Number(opts.port);
      const workers = opts.workers === undefined ? 0 : Number(opts.workers);
      if (!Number.isInteger(workers) || workers < 0) throw new Error(`--workers: "${opts.workers}" is not a number of processes`);
      let ws: OpenWorkspace | undefined;
      const start = async () => {
        ws = opts.workspace ? await openWorkspace(loadWorkspaceConfig(opts.workspace)) : undefined;
        const service = ws?.service;
        // Behind the admin gate of /reports and /metrics (server/reporting/admin-gate.ts).
        return await startServer({ ...cfg, ...(service ? { adminApis: { [WORKSPACE_API_PATH]: workspaceRouter(service) } } : {}) });
      };
      const srv = workers > 0 ? await serveClustered(workers, start) : await start();
      // In cluster mode a worker's own signal handling stops it (server/http/workers.ts).
      if ("role" in srv && srv.role === "worker") return;
      // Before the start-up lines: whoever reads them may signal at once.
      stopOnSignals(async () => {
        await srv.close();
        await ws?.close();
      });
      // What an admin needs first: what is served, where to look, and how to log in there.
      console.log(`vacfg server listening on ${srv.url}${workers > 0 ? ` (${workers} workers)` : ""}${opts.workspace ? ` (workspace API at ${WORKSPACE_API_PATH})` : ""}, serving the repository ${cfg.settings.repo}`);
      console.log(`reports: ${srv.url}/reports/ (user admin, password in ${adminPasswordSource(cfg.settings.dataDir)})`);
      // Under systemd (Type=notify): units ordered after vacfg-server start now.
      notifyReady(`listening on ${srv.url}`);
    });
  withExamples(cmd, [
    "vacfg server -c /srv/vacfg/vacfg.conf                 # a site made by vacfg init",
    "vacfg server -d vacfg-data -r repo                    # embedded defaults (created on first start)",
    "vacfg server -c /srv/vacfg/vacfg.conf --workers 2     # two processes on one store",
    "vacfg server -c /srv/vacfg/vacfg.conf -w workspace.json   # also the workspace API at /api/v1",
  ]);
}
