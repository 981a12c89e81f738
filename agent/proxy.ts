// The agent's XML-RPC client: node:https with a keep-alive agent, the site CA, an optional client
// certificate, Basic auth, and upstream's retry rule (any failure, N tries, a fixed delay apart).
// A server that closes the connection after each call (upstream's speaks HTTP/1.0) gets the
// connections of the calls the run says follow opened ahead (preconnect), so the TCP and TLS
// handshakes overlap the run's own work (and the server's answers) instead of adding to them.
// Upstream's server makes each handshake in its one accepting thread, and a request can wait for
// it: every known next call's connection opens at once, and their handshakes are made while the
// server makes its first answers and the run's probes run. Once the server has sent a session
// ticket, those connections resume that session: the server sends no certificate and makes no
// signature for them.
import { readFileSync } from "node:fs";
import { Agent, request, type RequestOptions } from "node:https";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { connect, type SecureContext, type TLSSocket } from "node:tls";
import { VacfgError, XmlRpcFault } from "../protocol/errors.js";
import { parseMethodResponse, serializeMethodCall, type XmlRpcValue } from "../protocol/xmlrpc/index.js";
import type { Logger } from "./log.js";
import type { AgentOptions } from "./options.js";
import { secureContext } from "./site-trust.js";

/** The connection settings of the agent's options, with the server URL under its own name. */
export interface ProxyOptions extends Pick<AgentOptions, "user" | "password" | "ca" | "insecure" | "cert" | "key" | "retries" | "retryDelayMs" | "timeoutMs"> {
  url: string;
  log: Logger;
}

/**
 * The protocol the agent names in its TLS handshake (ALPN). A server naming it back (vacfg's) keeps
 * connections; one naming none (upstream's HTTP/1.0 server) is taken, until its first answer says,
 * for one that closes them.
 */
const ALPN = ["http/1.1"];

/** Responses bigger than this are refused (a configuration is a few MB at most). */
const MAX_RESPONSE = 256 * 1024 * 1024;

/** Whether a connection opened ahead can still carry a call. */
const usable = (s: TLSSocket) => !s.destroyed && s.writable && !s.readableEnded;

/** Whether the server closes the connection after this answer (HTTP/1.0 unless keep-alive, or Connection: close). */
function closesAfter(res: IncomingMessage): boolean {
  const connection = (res.headers.connection ?? "").toLowerCase();
  return res.httpVersion === "1.0" ? !connection.includes("keep-alive") : connection.includes("close");
}

export class XmlRpcProxy {
  private readonly agent: Agent;
  private readonly target: URL;
  private readonly auth: string;
  private readonly secureContext: SecureContext;
  /** The last answer came with the connection closed after it: the next call needs a new one. */
  private closes = false;
  /** Connections opened ahead for the next calls, in the order they are taken, to a server that closes them. */
  private spares: TLSSocket[] = [];
  /** Whether an answer has come, telling whether the server closes connections (closes). */
  private answered = false;
  /** How many connections preconnect() asked for before any answer told whether the server closes (the first connection's ALPN and the first answer's headers decide), and within what time. */
  private wanted = 0;
  private wantedWithin?: number;
  /** The server's last TLS session ticket: a connection opened ahead resumes it (no certificate sent or checked, no signature made). */
  private session?: Buffer;
  /** When a spare opened with a time bound is closed unused. */
  private readonly expiry = new WeakMap<TLSSocket, NodeJS.Timeout>();
  private firstSecured!: () => void;
  /** Resolved once the first connection's TLS handshake is done; never rejected. */
  readonly secured = new Promise<void>((resolve) => (this.firstSecured = resolve));

  constructor(private readonly o: ProxyOptions) {
    this.target = new URL(o.url);
    if (this.target.protocol !== "https:") throw new VacfgError("AGENT_CONFIG", `server URL ${o.url}: only https is spoken`);
    if (!this.target.pathname || this.target.pathname === "/") this.target.pathname = "/RPC2";
    const read = (what: string, p?: string) => {
      if (!p) return undefined;
      try {
        return readFileSync(p);
      } catch (e) {
        throw new VacfgError("AGENT_CONFIG", `${what} ${p}: ${(e as Error).message}`);
      }
    };
    // Upstream only warns and then sends the password to whatever answers; vacfg refuses unless told.
    if (!o.ca && !o.insecure) {
      throw new VacfgError(
        "AGENT_CONFIG",
        `no CA to verify the server ${this.target.host} with: give --ca FILE (or [communication] ca in the config file), or --insecure to send the password to whatever server answers`,
      );
    }
    // One secure context for every connection: given ca/cert/key, each connection would parse them again
    // (upstream's server closes the connection after every call).
    this.secureContext = secureContext({ ca: read("--ca", o.ca), cert: read("--cert", o.cert), key: read("--key", o.key) });
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, secureContext: this.secureContext, rejectUnauthorized: !!o.ca, ALPNProtocols: ALPN });
    if (!o.ca) o.log.warn(`--insecure: the server certificate of ${this.target.host} is not verified; the password goes to whatever server answers`);
    this.auth = "Basic " + Buffer.from(`${o.user}:${o.password}`).toString("base64");
  }

  /**
   * The next `calls` calls follow soon. To a server that closed the connection after its last
   * answer, their connections are opened now, those not open yet (TCP, TLS handshake and
   * certificate check, as the agent would), and the next calls take them in turn; a kept-alive
   * connection needs nothing. A call takes its connection before call() returns its promise, so
   * preconnect(n) right after call() counts the calls after that one. Before any answer (the run's
   * first call), they are opened as soon as the first connection's handshake shows a server that
   * does not name HTTP/1.1 (upstream's), beside that call, and closed again if the answer says the
   * connection stays; or once the answer's headers say it closes.
   * `within` (ms): a connection opened now that no call has taken by then is closed, before a
   * server's idle timeout would drop it (upstream's, 10 s, logs each); the call then connects itself.
   */
  preconnect(calls = 1, within?: number): void {
    if (!this.answered) [this.wanted, this.wantedWithin] = [Math.max(this.wanted, calls), within];
    else if (this.closes) this.openSpares(calls, within);
  }

  /** The first connection is up before any answer: a server that names no HTTP/1.1 gets the connections asked for now. */
  private handshakeDone(socket: TLSSocket): void {
    this.firstSecured();
    if (!this.answered && socket.alpnProtocol !== ALPN[0]) this.openSpares(this.wanted, this.wantedWithin);
  }

  /** What the first answer's headers say: whether the server closes connections, and so whether the connections asked for are opened, or those opened on a guess closed. */
  private firstAnswer(res: IncomingMessage): void {
    this.answered = true;
    this.closes = closesAfter(res);
    if (this.closes) this.openSpares(this.wanted, this.wantedWithin);
    else this.dropSpares();
    [this.wanted, this.wantedWithin] = [0, undefined];
  }

  /** Opens connections ahead until `n` are open (a dropped one is left out and replaced); those opened now close unused after `within` ms. */
  private openSpares(n: number, within?: number): void {
    this.spares = this.spares.filter((s) => {
      if (usable(s)) return true;
      this.discard(s);
      return false;
    });
    while (this.spares.length < n) {
      const socket = this.openSpare();
      this.spares.push(socket);
      if (within === undefined) continue;
      const timer = setTimeout(() => {
        this.spares = this.spares.filter((s) => s !== socket);
        socket.destroySoon(); // TLS close_notify, then the TCP close: the server sees a connection that asked nothing
      }, within);
      timer.unref();
      this.expiry.set(socket, timer);
    }
  }

  private dropSpares(): void {
    for (const s of this.spares) this.discard(s);
    this.spares = [];
  }

  /** Closes a spare, and its time bound with it. */
  private discard(s: TLSSocket): void {
    clearTimeout(this.expiry.get(s));
    s.destroy();
  }

  private openSpare(): TLSSocket {
    const host = this.target.hostname.replace(/^\[(.*)\]$/, "$1");
    const socket = connect({
      host,
      port: Number(this.target.port || 443),
      servername: isIP(host) ? undefined : host,
      secureContext: this.secureContext,
      rejectUnauthorized: !!this.o.ca,
      ALPNProtocols: ALPN,
      session: this.session,
    });
    this.keepSession(socket);
    // a failed or dropped spare is left out when a call looks at it (the call then connects itself)
    socket.on("error", () => socket.destroy());
    return socket;
  }

  /** Keeps each session ticket `socket` gets from the server, for the next connection opened ahead. */
  private keepSession(socket: TLSSocket): void {
    socket.on("session", (ticket: Buffer) => (this.session = ticket));
  }

  /** The oldest connection opened ahead that is still open (a server may drop an idle one); else undefined. */
  private takeSpare(): TLSSocket | undefined {
    for (let s = this.spares.shift(); s; s = this.spares.shift()) {
      if (usable(s)) {
        clearTimeout(this.expiry.get(s));
        return s;
      }
      this.discard(s);
    }
    return undefined;
  }

  /** One call with retries; a fault or HTTP error after the last try is thrown. */
  async call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue> {
    let last: unknown;
    for (let attempt = 1; attempt <= this.o.retries; attempt++) {
      try {
        return await this.once(method, params);
      } catch (e) {
        last = e;
        this.o.log.debug(`${method} try ${attempt}/${this.o.retries} failed: ${(e as Error).message}`);
        if (attempt < this.o.retries) await new Promise((r) => setTimeout(r, this.o.retryDelayMs));
      }
    }
    throw last;
  }

  private once(method: string, params: XmlRpcValue[]): Promise<XmlRpcValue> {
    const body = Buffer.from(serializeMethodCall({ methodName: method, params }), "utf8");
    const spare = this.takeSpare();
    if (!spare) return this.send(method, body, { agent: this.agent });
    // without an agent, http uses createConnection for this one request (and closes it after).
    // A spare the server dropped just as it was taken (idle too long) fails before any answer:
    // the call goes again at once on a connection of its own, as it would have without one.
    let answered = false;
    return this.send(method, body, { createConnection: () => spare }, () => (answered = true)).catch((e: unknown) => {
      if (answered || e instanceof VacfgError) throw e; // answered, or timed out: the usual retry rule
      this.o.log.debug(`${method}: the connection opened ahead failed (${(e as Error).message}); connecting again`);
      return this.send(method, body, { agent: this.agent });
    });
  }

  /** One request over `via` (the agent, or one given connection); `onAnswer` when the response begins. */
  private send(method: string, body: Buffer, via: RequestOptions, onAnswer?: () => void): Promise<XmlRpcValue> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...via,
          protocol: "https:",
          hostname: this.target.hostname,
          port: this.target.port || 443,
          path: this.target.pathname,
          method: "POST",
          timeout: this.o.timeoutMs,
          headers: {
            "Content-Type": "text/xml",
            "Content-Length": body.length,
            "User-Agent": "vacfg-agent",
            "Accept-Encoding": "gzip",
            Authorization: this.auth,
          },
        },
        (res) => {
          onAnswer?.();
          if (this.answered) this.closes = closesAfter(res);
          else this.firstAnswer(res);
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE) req.destroy(new VacfgError("AGENT_RUN", `${method}: response exceeds ${MAX_RESPONSE} bytes`));
            else chunks.push(c);
          });
          res.on("error", reject);
          res.on("end", () => {
            if (res.statusCode !== 200) {
              reject(new VacfgError("AGENT_RUN", `${method}: HTTP ${res.statusCode} ${res.statusMessage ?? ""}`.trim()));
              return;
            }
            const answer = (raw: Buffer) => {
              const r = parseMethodResponse(raw.toString("utf8"));
              if (r.kind === "fault") reject(new XmlRpcFault(r.faultCode, r.faultString));
              else resolve(r.value);
            };
            try {
              const raw = Buffer.concat(chunks);
              // zlib is loaded for the first compressed answer only (upstream's server sends none): not at start-up
              if (res.headers["content-encoding"] === "gzip") import("node:zlib").then((z) => answer(z.gunzipSync(raw))).catch(reject);
              else answer(raw);
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      if (!this.answered) req.once("socket", (socket: TLSSocket) => (this.keepSession(socket), socket.once("secureConnect", () => this.handshakeDone(socket))));
      req.on("timeout", () => req.destroy(new VacfgError("AGENT_RUN", `${method}: no answer within ${this.o.timeoutMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.dropSpares();
    this.agent.destroy();
  }
}
