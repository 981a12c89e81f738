// A site as `vacfg init` makes it (config, TLS, store beside DIR/repo), served by a real server on
// 127.0.0.1 with the given site password: what the admin-command tests run their commands against.
import { pino } from "pino";
import { initSite } from "../../server/admin/init.js";
import { loadServerConfig } from "../../server/admin/server-config.js";
import { startServer, type StartedServer } from "../../server/start-server.js";

export async function startSiteServer(dir: string, password: string): Promise<{ conf: string; server: StartedServer }> {
  const conf = initSite(dir, { hostname: "localhost" }).configPath;
  const config = loadServerConfig(conf);
  config.settings.password = password;
  config.listen = { host: "127.0.0.1", port: 0 };
  return { conf, server: await startServer({ ...config, logger: pino({ level: "silent" }) }) };
}
