// Serving a ClientRunApi over HTTPS: listen, report the bound port and URL, and close
// promptly (stop accepting, drop idle kept-alive connections, let requests in flight finish with
// `Connection: close`, then close what the API holds).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { ClientRunApi } from "../core/client-api.js";
import { createHttpsFront, type FrontOptions, type TlsMaterial } from "./app.js";
import { componentLogger, createLogger } from "./logger.js";

export interface ServeOptions {
  api: ClientRunApi;
  listen: { host: string; port: number };
  tls: TlsMaterial;
  bodyLimit?: number;
  gzipMinBytes?: number;
  /** Passed to the front: /metrics counters and extra routes (reporting UI). */
  metrics?: FrontOptions["metrics"];
  routes?: FrontOptions["routes"];
  /** Failed XML-RPC authentications limited per address and client name (client-auth-limit.ts). */
  authLimit?: FrontOptions["authLimit"];
  logger?: Logger;
  /** Run after the HTTPS server and the API are closed (e.g. close the store). */
  onClose?: () => Promise<void>;
}

export interface RunningServer {
  port: number;
  /** https://HOST:PORT, with a wildcard listen address replaced by loopback. */
  url: string;
  close(): Promise<void>;
}

/**
 * Requests in flight when the close starts get this long to finish before their connections are
 * cut, so that `vacfg server` exits within 2 s of SIGTERM/SIGINT (issue 17).
 */
export const CLOSE_GRACE_MS = 1_500;

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

export async function serveApi(opts: ServeOptions): Promise<RunningServer> {
  const root = opts.logger ?? createLogger();
  const log = componentLogger(root, "http");
  const server = createHttpsFront({ api: opts.api, logger: log, bodyLimit: opts.bodyLimit, gzipMinBytes: opts.gzipMinBytes, tls: opts.tls, metrics: opts.metrics, routes: opts.routes, authLimit: opts.authLimit });
  // Each open connection and its latest response, so that a close can tell the clients of responses
  // in flight not to keep the connection. Kept per connection: a kept-alive request only replaces
  // its connection's entry (a pipelined request's predecessor is answered before it, on the same
  // connection, so closing after the latest closes after both).
  const connections = new Map<Socket, ServerResponse | undefined>();
  let stopping = false;
  const endConnectionAfter = (res: ServerResponse): void => {
    if (!res.headersSent) res.setHeader("Connection", "close");
    // A response whose headers already went out as keep-alive: drop its connection once it is idle.
    res.once("finish", () => setImmediate(() => server.closeIdleConnections()));
  };
  server.on("secureConnection", (socket: Socket) => {
    connections.set(socket, undefined);
    socket.once("close", () => connections.delete(socket));
  });
  server.prependListener("request", (req: IncomingMessage, res: ServerResponse) => {
    connections.set(req.socket, res);
    if (stopping) endConnectionAfter(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.listen.port;
  const url = `https://${urlHost(opts.listen.host)}:${port}`;
  log.info({ url }, "listening");
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const res of connections.values()) if (res !== undefined && !res.writableFinished) endConnectionAfter(res);
      // Requests in flight get a short grace period, then their connections are cut.
      const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      await closed;
      clearTimeout(timer);
      try {
        await opts.api.close();
      } finally {
        await opts.onClose?.();
      }
      log.info({ url }, "closed");
    })());
  return { port, url, close };
}
