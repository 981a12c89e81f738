// Test helpers that talk to a server the way upstream clients do: node https with the
// Python xmlrpc client's headers, raw TLS sockets, and the recorded wire cases.
import https from "node:https";
import tls from "node:tls";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { transcriptsDir } from "../../support/paths.js";

export interface HttpReply {
  status: number;
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: Buffer;
  /** Local port of the socket that carried the request (to see whether a socket was reused). */
  localPort?: number;
}

export interface PostOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: https.Agent | false;
  localAddress?: string;
  cert?: string;
  key?: string;
  ca?: string;
}

export function basic(user: string, password: string): string {
  return "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
}

/** One HTTPS request; the server certificate is not verified unless `ca` is given. */
export function request(port: number, opts: PostOptions = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, "utf8");
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (body && !Object.keys(headers).some((h) => h.toLowerCase() === "content-length" || h.toLowerCase() === "transfer-encoding")) {
      headers["Content-Length"] = String(body.length);
    }
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        method: opts.method ?? "POST",
        path: opts.path ?? "/RPC2",
        headers,
        agent: opts.agent ?? false,
        localAddress: opts.localAddress,
        cert: opts.cert,
        key: opts.key,
        ca: opts.ca,
        rejectUnauthorized: opts.ca !== undefined,
        servername: opts.ca !== undefined ? "localhost" : undefined,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const localPort = res.socket?.localPort; // read now: a socket the server closes is gone by "end"
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            reason: res.statusMessage ?? "",
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks),
            localPort,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The headers Python's xmlrpc.client (and so the bcfg2 client) sends on every call. */
export function pythonClientHeaders(user: string, password: string): Record<string, string> {
  return {
    Host: "127.0.0.1",
    Authorization: basic(user, password),
    "Accept-Encoding": "gzip",
    "Content-Type": "text/xml",
    "User-Agent": "Python-xmlrpc/3.11",
  };
}

/** A methodCall body exactly as Python's xmlrpc.client.dumps writes it (string parameters). */
export function methodCall(name: string, ...params: string[]): string {
  const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return (
    `<?xml version='1.0'?>\n<methodCall>\n<methodName>${name}</methodName>\n<params>\n` +
    params.map((p) => `<param>\n<value><string>${esc(p)}</string></value>\n</param>\n`).join("") +
    "</params>\n</methodCall>\n"
  );
}

export function call(port: number, user: string, password: string, name: string, ...params: string[]): Promise<HttpReply> {
  return request(port, { headers: pythonClientHeaders(user, password), body: methodCall(name, ...params) });
}

export interface WireMessage {
  startLine: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

function splitMessage(raw: Buffer): WireMessage {
  const sep = raw.indexOf("\n\n");
  const head = raw.subarray(0, sep < 0 ? raw.length : sep).toString("utf8").split("\n");
  const body = sep < 0 ? Buffer.alloc(0) : raw.subarray(sep + 2);
  const headers = head.slice(1).map((l): [string, string] => {
    const i = l.indexOf(":");
    return [l.slice(0, i), l.slice(i + 1).trim()];
  });
  return { startLine: head[0], headers, body };
}

/** A recorded hand-made request and the real server's response (05-wire-cases/NN-name.*.txt). */
export function wireCase(name: string): { request: WireMessage; response: WireMessage & { status: number } } {
  const dir = join(transcriptsDir, "05-wire-cases");
  const request = splitMessage(readFileSync(join(dir, `${name}.request.txt`)));
  const response = splitMessage(readFileSync(join(dir, `${name}.response.txt`)));
  return { request, response: { ...response, status: Number(response.startLine.split(" ")[1]) } };
}

export function header(m: WireMessage, name: string): string | undefined {
  return m.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

/** Sends a recorded request unchanged (method, path, headers, body) to our server. */
export function replay(port: number, name: string, extra: Partial<PostOptions> = {}): Promise<HttpReply> {
  const { request: r } = wireCase(name);
  const [method, path] = r.startLine.split(" ");
  const headers: Record<string, string> = {};
  for (const [k, v] of r.headers) headers[k] = v;
  return request(port, { method, path, headers, body: method === "GET" ? undefined : r.body, ...extra });
}

/**
 * Writes raw bytes over TLS and collects everything until the server closes, or until `enough` says
 * what arrived is all the test waits for (the connection is then still open), or `timeoutMs`.
 */
export function rawExchange(port: number, data: string | Buffer, timeoutMs = 30_000, enough?: (text: string) => boolean): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => sock.write(data));
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString("utf8"), closedByServer: false });
    }, timeoutMs);
    sock.on("data", (c: Buffer) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString("utf8");
      if (enough?.(text)) {
        clearTimeout(timer);
        sock.destroy();
        resolve({ text, closedByServer: false });
      }
    });
    sock.on("end", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString("utf8"), closedByServer: true });
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
