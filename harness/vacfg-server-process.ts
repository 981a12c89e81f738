// A vacfg server as its own process for multi-process tests and benchmarks: loads vacfg.conf,
// overrides the store URL, listens on 127.0.0.1 port 0 and prints "LISTENING <url>" on stdout.
// argv: CONFIG STORE_URL [WORKERS]. env: VACFG_SITE_PASSWORD, VACFG_ADMIN_PASSWORD, VACFG_LOG_FILE.
import cluster from "node:cluster";
import { pino } from "pino";
import { loadServerConfig } from "../server/admin/server-config.js";
import { serveClustered } from "../server/http/workers.js";
import { startServer } from "../server/start-server.js";
import { stopOnSignals } from "../server/http/stop-on-signals.js";
import { tuneServerHeap } from "../server/heap-settings.js";

tuneServerHeap(); // as `vacfg server` does
const [configPath, storeUrl, workersArg] = process.argv.slice(2);
const cfg = loadServerConfig(configPath);
cfg.storeUrl = storeUrl;
cfg.listen = { host: "127.0.0.1", port: 0 };
if (process.env.VACFG_SITE_PASSWORD) cfg.settings.password = process.env.VACFG_SITE_PASSWORD;
const logger = pino({ level: process.env.VACFG_LOG_LEVEL ?? "warn" }, pino.destination({ dest: process.env.VACFG_LOG_FILE ?? 2, sync: false }));
const start = () => startServer({ ...cfg, logger });
const workers = Number(workersArg ?? 0);

if (workers > 0) {
  const r = await serveClustered(workers, start, logger);
  if (cluster.isPrimary && r.role === "primary") {
    stopOnSignals(() => r.close());
    process.stdout.write(`LISTENING ${r.url}\n`);
  }
} else {
  const srv = await start();
  stopOnSignals(() => srv.close());
  process.stdout.write(`LISTENING ${srv.url}\n`);
}
