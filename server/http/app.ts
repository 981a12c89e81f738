// The HTTPS XML-RPC front: express on an https server, POST on any path, authentication
// before the body is read, then parse → dispatch → methodResponse. Bad input never throws
// out of here: each refusal is a status code and one log line.
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { gzipSync } from "node:zlib";
import express, { type Express } from "express";
import type { Logger } from "pino";
import { ERRORS, VacfgError } from "../../protocol/errors.js";
import { bareMethodCall, methodCallOf, XmlRpcReader } from "../../protocol/xmlrpc/parser.js";
import type { MethodCall, XmlRpcValue } from "../../protocol/xmlrpc/values.js";
import type { ClientRunApi, RequestScope } from "../core/client-api.js";
import type { AuthDecision, AuthRequest } from "../core/metadata.js";
import { parseBasicAuth } from "./basic-auth.js";
import { PAGES, sendErrorPage } from "./error-page.js";
import { DEFAULT_BODY_LIMIT, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, readBody, REQUEST_TIMEOUT_MS, takeBufferedBody } from "./limits.js";
import { peerAddress, verifiedCertCN } from "./peer.js";
import { XmlRpcDispatcher } from "./xmlrpc-handler.js";
import { ResponseMemo } from "./response-memo.js";
import type { ServerMetrics } from "./metrics.js";
import { admitClient, admitClientNow, type ClientAdmission, type ClientAuthLimit } from "./client-auth-limit.js";

export interface FrontOptions {
  api: ClientRunApi;
  logger: Logger;
  /** Largest request body in bytes (default 8 MiB); larger → HTTP 413. */
  bodyLimit?: number;
  /**
   * Gzip responses at least this large when the client sends Accept-Encoding: gzip.
   * Off by default: upstream never gzips, and some tools built on Python's xmlrpc read the raw body.
   */
  gzipMinBytes?: number;
  /** Request counters and timings for /metrics (server/http/metrics.ts). */
  metrics?: ServerMetrics;
  /** Extra routes mounted before the XML-RPC catch-all (the reporting UI at /reports, /metrics). */
  routes?: (app: Express) => void;
  /** Failed authentications limited per address and client name (client-auth-limit.ts); none when absent. */
  authLimit?: ClientAuthLimit;
}

export interface TlsMaterial {
  /** PEM strings (or buffers) of the server certificate, its key and the site CA. */
  cert: string | Buffer;
  key: string | Buffer;
  ca: string | Buffer;
}

function authRequest(req: IncomingMessage, address: string): AuthRequest | undefined {
  const creds = parseBasicAuth(req.headers.authorization);
  if (!creds) return undefined;
  const out: AuthRequest = { user: creds.user, password: creds.password, address };
  const cn = verifiedCertCN(req.socket);
  if (cn !== undefined) out.certCN = cn;
  return out;
}

/** A success remembered for a TLS connection: the exact header it was decided for, and the decision. */
interface ConnectionAuth {
  authorization: string;
  client: string;
  /** The decision's inputs unchanged (AuthDecision.holds) and the limits quiet (ClientAuthLimit.quietFor). */
  holds: () => boolean;
  /** The request it was decided for, and its limit: `quiet` is made from them when the connection is reused. */
  auth: AuthRequest;
  limit?: ClientAuthLimit;
  quiet?: () => boolean;
}

/**
 * A request as its connection's reads see it: `past` once it has passed its turn (so it was read in an
 * earlier poll phase than any request read after it) with its body taken whole with its headers.
 * Until then, the request read next on the connection may have come in the same read as bytes of
 * this one, after the poll that reported the socket readable: an inotify event queued between that
 * poll and the read is reported only by the next poll, so that request waits two turns
 * (RepoWatcher.settle), not one (settleArrived). A request answered elsewhere (the reporting routes)
 * or refused before its body is read is never past.
 */
interface Arrival {
  past: boolean;
}

/** What the front keeps of a TLS connection: one record, found once per request. */
interface Connection {
  /** The peer's address, as upstream sees it (a connection's cannot change). */
  readonly address: string;
  /** Its latest request. */
  arrival?: Arrival;
  /** A success remembered for it. */
  auth?: ConnectionAuth;
}

const connections = new WeakMap<Socket, Connection>();

function connectionOf(socket: Socket): Connection {
  let c = connections.get(socket);
  if (c === undefined) connections.set(socket, (c = { address: peerAddress(socket), arrival: undefined, auth: undefined }));
  return c;
}

/** Records a request's arrival on its connection: whether it must wait two turns (see Arrival). */
function arrive(conn: Connection, arrival: Arrival): boolean {
  const before = conn.arrival;
  conn.arrival = arrival;
  return before !== undefined && !before.past;
}

/**
 * The client a kept-alive connection settled before, when this request presents the same Authorization
 * header and nothing that decision depended on has changed since: clients.xml and the settings
 * (decision.holds) and the failed-login limits (no failure or lockout known for the address or the
 * name). The connection's address and certificate cannot change (renegotiation is refused). Anything
 * else is decided afresh, and a refusal is never remembered.
 */
function rememberedClient(req: IncomingMessage, conn: Connection): string | undefined {
  const memo = conn.auth;
  if (memo === undefined || req.headers.authorization !== memo.authorization) return undefined;
  if (!memo.holds()) return undefined;
  if (memo.limit !== undefined && !(memo.quiet ??= memo.limit.quietFor(memo.auth))()) return undefined;
  return memo.client;
}

/** Most connections (a new one per call, as the Python client makes) never carry a second request: their memo costs one object. */
function rememberConnection(req: IncomingMessage, conn: Connection, auth: AuthRequest, decision: AuthDecision | undefined, limit: ClientAuthLimit | undefined): void {
  const authorization = req.headers.authorization;
  if (decision?.holds === undefined || authorization === undefined) return;
  conn.auth = { authorization, client: decision.client, holds: decision.holds, auth, limit };
}

/**
 * A lockout is answered as any failed authentication (401, which the Python client retries like every
 * error) plus Retry-After in seconds; a store that cannot say whether the caller is locked out gets 503.
 */
function refuseLimited(res: ServerResponse, r: Exclude<ClientAdmission, { kind: "ok" } | { kind: "refused" }>, log: Logger, who: { user?: string; address: string }): number {
  if (r.kind === "unavailable") {
    res.setHeader("Retry-After", "10");
    sendErrorPage(res, PAGES.unavailable);
    return PAGES.unavailable.code;
  }
  log.warn({ ...who, by: r.by, retryAfterMs: r.retryAfterMs }, "authentication refused: too many failures");
  res.setHeader("Retry-After", String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))));
  sendErrorPage(res, PAGES.unauthorized);
  return PAGES.unauthorized.code;
}

/** Bodies up to this size are read whole before parsing (bareMethodCall's limit). */
const SMALL_BODY = 512;

function wantsGzip(req: IncomingMessage): boolean {
  const ae = req.headers["accept-encoding"];
  return typeof ae === "string" && /(^|,)\s*gzip\s*(;\s*q=(?!0(\.0*)?\s*(,|$))[\d.]+)?\s*(,|$)/i.test(ae);
}

/**
 * The methodCall a body holds. A small one is held whole and, when it is a parameterless call in the
 * form clients write, recognised by that form (`bareMethodCall`); anything else goes through the
 * parser, a body still arriving streamed into it (never held whole) and refused at the first limit
 * it passes. Synchronous when the body came whole with the headers.
 */
function readCall(req: IncomingMessage, limit: number, bare: BareCalls): MethodCall | Promise<MethodCall> {
  const chunks = takeBufferedBody(req, limit);
  if (chunks === undefined) return streamCall(req, limit);
  let size = 0;
  for (const c of chunks) size += c.length;
  const call = size <= SMALL_BODY ? bare.of(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)) : undefined;
  return call ?? parseCall(chunks, limit);
}

/**
 * bareMethodCall, with the last body it recognised kept: a client on a kept-alive connection sends
 * the same bytes call after call, which are then compared, not matched again. The call is frozen:
 * every request shares it.
 */
class BareCalls {
  private last?: { bytes: Buffer; call: MethodCall };

  of(bytes: Buffer): MethodCall | undefined {
    const last = this.last;
    if (last !== undefined && bytes.equals(last.bytes)) return last.call;
    const call = bareMethodCall(bytes);
    if (call === undefined) return undefined;
    this.last = { bytes: Buffer.from(bytes), call: Object.freeze({ methodName: call.methodName, params: Object.freeze([]) as unknown as XmlRpcValue[] }) };
    return this.last.call;
  }
}

function parseCall(chunks: Buffer[], limit: number, reader = new XmlRpcReader("methodCall", { maxBytes: limit })): MethodCall {
  for (const c of chunks) reader.write(c);
  return methodCallOf(reader.end());
}

async function streamCall(req: IncomingMessage, limit: number): Promise<MethodCall> {
  const small: Buffer[] = [];
  let smallBytes = 0;
  let reader: XmlRpcReader | undefined;
  await readBody(req, limit, (chunk) => {
    if (!reader && smallBytes + chunk.length <= SMALL_BODY) {
      small.push(chunk);
      smallBytes += chunk.length;
      return;
    }
    if (!reader) {
      reader = new XmlRpcReader("methodCall", { maxBytes: limit });
      for (const c of small.splice(0)) reader.write(c);
    }
    reader.write(chunk);
  });
  return (reader ? undefined : bareMethodCall(small.length === 1 ? small[0] : Buffer.concat(small))) ?? parseCall(small, limit, reader);
}

/** The request handler behind every path and method. */
export function createXmlRpcHandler(opts: FrontOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const log = opts.logger;
  const limit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const dispatcher = new XmlRpcDispatcher(opts.api, log);
  const memo = new ResponseMemo();
  const bare = new BareCalls();

  /** One answered request: the debug line and the metrics. */
  const done = (req: IncomingMessage, started: number, address: string, status: number, method?: string, client?: string, fault?: number): void => {
    const ms = performance.now() - started;
    if (log.isLevelEnabled("debug")) log.debug({ status, address, path: req.url, ms, method, client, fault }, "request");
    opts.metrics?.observeRequest({ method, status, fault, seconds: ms / 1000 });
  };

  /**
   * Authentication of a request its connection has not settled (through the failed-login limits): the
   * client, or the status of the refusal sent. A success whose inputs can be watched is remembered for
   * the connection.
   */
  const admit = async (req: IncomingMessage, res: ServerResponse, scope: RequestScope, conn: Connection, auth: AuthRequest | undefined): Promise<string | number> => {
    const address = conn.address;
    let decision: AuthDecision | undefined;
    const authenticate = async (a: AuthRequest): Promise<string | undefined> => {
      try {
        // Its synchronous part (clients.xml read from its cache) vouched for as the request's own.
        decision = await scope.vouched(() => opts.api.authenticate(a));
        return decision?.client;
      } catch (err) {
        log.error({ err, user: a.user, address }, "authentication raised an error");
        return undefined;
      }
    };
    const admission: ClientAdmission = auth ? await scope.vouched(() => admitClient(opts.authLimit, auth, authenticate)) : { kind: "refused" };
    conn.auth = undefined;
    if (admission.kind === "locked" || admission.kind === "unavailable") return refuseLimited(res, admission, log, { user: auth?.user, address });
    if (admission.kind !== "ok") {
      log.warn({ user: auth?.user, address, certCN: auth?.certCN }, auth ? "authentication failed" : "no Basic credentials presented");
      sendErrorPage(res, PAGES.unauthorized);
      return ERRORS.AUTH_FAILED.http;
    }
    rememberConnection(req, conn, auth!, decision, opts.authLimit);
    return admission.client;
  };

  /**
   * A success the limits and the API can tell without a wait (admitClientNow, authenticateNow): the
   * client, remembered for the connection; undefined when `admit` must decide.
   */
  const admitNow = (req: IncomingMessage, conn: Connection, auth: AuthRequest): string | undefined => {
    const now = opts.api.authenticateNow;
    if (now === undefined) return undefined;
    let decision: AuthDecision | undefined;
    const client = admitClientNow(opts.authLimit, auth, () => (decision = now.call(opts.api, auth))?.client);
    if (client !== undefined) rememberConnection(req, conn, auth, decision, opts.authLimit);
    return client;
  };

  /** A body that could not be read as a methodCall: the answer sent, its status. */
  const refuseBody = (req: IncomingMessage, res: ServerResponse, err: unknown, client: string, address: string): number => {
    if (err instanceof VacfgError && (err.code === "BODY_TOO_LARGE" || err.code === "XML_TOO_LARGE")) {
      log.warn({ client, address }, err.message);
      sendErrorPage(res, PAGES.tooLarge(err.message));
      return 413;
    }
    if (err instanceof VacfgError) {
      // Upstream answers anything that xmlrpclib.loads refuses with 500 and an empty body.
      log.warn({ client, address, reason: err.message }, "body is not an XML-RPC methodCall");
      res.writeHead(ERRORS.XMLRPC_MALFORMED.http, { "Content-length": "0" });
      res.end();
      return ERRORS.XMLRPC_MALFORMED.http;
    }
    log.warn({ err, client, address }, "request body could not be read");
    req.socket.destroy();
    return 0;
  };

  // A kept-alive GetConfig answered from the build cache waits only for the repository's changes:
  // the connection's remembered client, a body that came with the headers and a cached answer are
  // all taken without a promise.
  return async (req, res) => {
    const started = performance.now();
    const conn = connectionOf(req.socket);
    const address = conn.address;
    const arrival: Arrival = { past: false };
    const queued = arrive(conn, arrival);
    try {
      if (req.method !== "POST") {
        sendErrorPage(res, PAGES.notImplemented(req.method ?? ""));
        return done(req, started, address, ERRORS.HTTP_METHOD.http);
      }
      // Every repository change made before the request arrived is seen from here on; bytes that may
      // have shared a read with the previous request's on the connection mean one more turn.
      const scope = await opts.api.beginRequest(queued);
      // Upstream authenticates in parse_request, before reading the body: a caller without
      // credentials never makes us buffer anything.
      let client = scope.vouched(() => rememberedClient(req, conn));
      if (client === undefined) {
        const auth = authRequest(req, address);
        client = auth && scope.vouched(() => admitNow(req, conn, auth));
        if (client === undefined) {
          const admitted = await admit(req, res, scope, conn, auth);
          if (typeof admitted === "number") return done(req, started, address, admitted);
          client = admitted;
        }
      }
      let call: MethodCall;
      try {
        const read = readCall(req, limit, bare);
        if (read instanceof Promise) call = await read;
        else {
          arrival.past = true;
          call = read;
        }
      } catch (err) {
        return done(req, started, address, refuseBody(req, res, err, client, address));
      }
      const dispatched = dispatcher.dispatch(call, { client, address, scope });
      const outcome = dispatched instanceof Promise ? await dispatched : dispatched;
      if (outcome.kind === "denied") {
        log.warn({ client, address, method: call.methodName }, outcome.reason);
        sendErrorPage(res, PAGES.unauthorized);
        return done(req, started, address, ERRORS.ADMIN_ONLY_LOCALHOST.http, call.methodName);
      }
      let payload = memo.encode(outcome.response);
      const headers: Record<string, string> = { "Content-type": "text/xml" };
      if (opts.gzipMinBytes !== undefined && payload.length >= opts.gzipMinBytes && wantsGzip(req)) {
        payload = gzipSync(payload, { level: 1 });
        headers["Content-Encoding"] = "gzip";
      }
      headers["Content-length"] = String(payload.length);
      res.writeHead(200, headers);
      res.end(payload);
      return done(req, started, address, 200, call.methodName, client, outcome.response.kind === "fault" ? outcome.response.faultCode : undefined);
    } catch (err) {
      // Nothing above should throw; if it does, the caller gets upstream's bare 500.
      log.error({ err, address }, "unexpected error in the request handler");
      if (!res.headersSent) {
        res.writeHead(500, { "Content-length": "0" });
        res.end();
      } else res.destroy();
      return done(req, started, address, 500);
    }
  };
}

/**
 * The request listener: express with the extra routes, and the XML-RPC handler behind every other
 * path and method (upstream ignores the path, and answers non-POST with 501). A POST to the path
 * XML-RPC clients use (Python's xmlrpc.client sends /RPC2) goes straight to the handler: no route
 * can claim it, and express's routing costs as much per call as a cached GetConfig.
 */
export function createListener(opts: FrontOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const handler = createXmlRpcHandler(opts);
  opts.routes?.(app);
  app.use((req, res) => handler(req, res));
  return (req, res) => {
    if (req.method === "POST" && (req.url === "/RPC2" || req.url === "/")) void handler(req, res);
    else {
      arrive(connectionOf(req.socket), { past: false });
      app(req, res);
    }
  };
}

/** The TLS server around the app: TLS 1.2+, client certificate optional but checked against the site CA. */
export function createHttpsFront(opts: FrontOptions & { tls: TlsMaterial }): https.Server {
  const server = https.createServer(
    {
      cert: opts.tls.cert,
      key: opts.tls.key,
      ca: opts.tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    },
    createListener(opts),
  );
  // HTTP/1.1 clients that keep the connection save a TLS handshake per call; HTTP/1.0 and
  // "Connection: close" are closed after the response, as node does by default.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  // A connection's client certificate is settled once: a remembered authentication relies on it.
  server.on("secureConnection", (socket: TLSSocket) => void socket.disableRenegotiation());
  server.on("tlsClientError", (err, socket) => {
    opts.logger.debug({ err: err.message, address: socket.remoteAddress }, "TLS handshake failed");
  });
  server.on("clientError", (err, socket) => {
    opts.logger.debug({ err: err.message }, "malformed HTTP request");
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else socket.destroy();
  });
  return server;
}
