// A throwaway vacfg site for the HTTP tests: the example repository copied into a temp dir,
// `vacfg init` run over it, and the real server (startServer, real Core, real SQLite) on port 0.
// clients.xml gets the lab's credentials (node0 password node0secret, node1 floating) and the
// site password is the lab's "labsecret", so upstream's recorded wire cases replay unchanged.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { initSite } from "../../../server/admin/init.js";
import { loadServerConfig, type ServerConfig } from "../../../server/admin/server-config.js";
import { startServer, type StartedServer, type StartServerOptions } from "../../../server/start-server.js";
import { exampleRepo } from "../../support/paths.js";

export interface TestSite {
  dir: string;
  tlsDir: string;
  logFile: string;
  config: ServerConfig;
  server: StartedServer;
  /** Starts another server process-equivalent on the same site (same repo and SQLite file). */
  another(over?: Partial<ServerConfig>): Promise<StartedServer>;
  cleanup(): Promise<void>;
}

/** Server options beyond the configuration file that tests set (the auth limit's clock). */
export type TestSiteOptions = Partial<ServerConfig> & Pick<StartServerOptions, "clientAuthLimit">;

/** `parent`: the directory the site is created in (a temp dir of its own by default). */
export async function startTestSite(over: TestSiteOptions = {}, parent = tmpdir()): Promise<TestSite> {
  const dir = mkdtempSync(join(parent, "vacfg-http-"));
  cpSync(exampleRepo, join(dir, "repo"), { recursive: true });
  const clients = join(dir, "repo/Metadata/clients.xml");
  writeFileSync(
    clients,
    readFileSync(clients, "utf8")
      .replace('<Client name="node0" profile="torque-head"/>', '<Client name="node0" profile="torque-head" password="node0secret"/>')
      .replace('<Client name="node1" profile="torque-worker"/>', '<Client name="node1" profile="torque-worker" floating="true"/>'),
  );
  const { configPath } = initSite(dir, { hostname: "localhost" });
  const config = loadServerConfig(configPath);
  config.settings.password = "labsecret";
  config.listen = { host: "127.0.0.1", port: 0 };
  const { clientAuthLimit, ...configOver } = over;
  Object.assign(config, configOver);
  const logFile = join(dir, "server.log");
  const logger = pino({ level: "debug" }, pino.destination({ dest: logFile, sync: true }));
  const started: StartedServer[] = [];
  const start = async (o: Partial<ServerConfig> = {}): Promise<StartedServer> => {
    const s = await startServer({ ...config, ...o, logger, ...(clientAuthLimit ? { clientAuthLimit } : {}) });
    started.push(s);
    return s;
  };
  try {
    const server = await start();
    return {
      dir,
      tlsDir: join(dir, "tls"),
      logFile,
      config,
      server,
      another: start,
      cleanup: async () => {
        for (const s of started.reverse()) await s.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * A clock for the XML-RPC failed-authentication limit that moves an hour on every reading, so no
 * lockout or counting window ever spans two requests: tests of other refusals run without it.
 */
export function clockPastEveryLimit(): { now: () => number } {
  let t = Date.now();
  return { now: () => (t += 3_600_000) };
}
