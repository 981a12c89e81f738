// The configuration server a deployment's agents talk to, as the workspace demo and the
// end-to-end test start it: server/http startServer on a repository copy with a SQLite store in
// dataDir, on a given address (inside a VM network namespace, see config-server-main.ts).
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createLogger } from "../server/http/logger.js";
import { startServer, type StartedServer } from "../server/start-server.js";

export interface ConfigServerOptions {
  /** Repository root (Bcfg2 layout); pass a copy, since the server adds new clients to clients.xml. */
  repo: string;
  /** SQLite store, generated keys, server.log. */
  dataDir: string;
  host: string;
  port?: number;
  /** The site password clients authenticate with. */
  password: string;
  tls: { cert: string; key: string; ca: string };
  /** The site's parameter-signing public keys (PEM): only parameters signed with them derive groups. */
  contextKeys: string[];
  logLevel?: "debug" | "info" | "warn" | "error" | "silent";
}

export function startConfigServer(o: ConfigServerOptions): Promise<StartedServer> {
  return startServer({
    settings: { repo: o.repo, dataDir: o.dataDir, password: o.password, plugins: [], defaultAuth: "cert+password", allowedProbeGroups: [], contextKeys: o.contextKeys },
    listen: { host: o.host, port: o.port ?? 0 },
    tls: o.tls,
    storeUrl: `sqlite:${join(o.dataDir, "store.db")}`,
    logger: createLogger({ level: o.logLevel ?? "info", file: join(o.dataDir, "server.log") }),
    // The demo does not use the reporting UI; it still gets a password nobody knows.
    reporting: { adminPassword: randomBytes(16).toString("base64url") },
  });
}
