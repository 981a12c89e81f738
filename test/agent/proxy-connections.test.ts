// The agent's XML-RPC proxy and its connections, against real TLS servers: a kept-alive connection
// carries every call; to a server that closes the connection after each call (as upstream's does),
// the next call's connection is opened ahead when the run says one follows, and a connection
// opened ahead that the server dropped costs the call neither a failure nor a retry's delay.
import { expect } from "chai";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { gzipSync } from "node:zlib";
import { createLogger } from "../../agent/log.js";
import { XmlRpcProxy } from "../../agent/proxy.js";
import { parseMethodCall, serializeMethodResponse } from "../../protocol/xmlrpc/index.js";
import { createCa, issueCertificate } from "../../server/admin/tls-material.js";
import { removeDir, tempDir } from "./fixtures.js";

interface Seen {
  /** TLS connections, in the order their handshakes finished. */
  connections: TLSSocket[];
  /** Method name and the index of the connection that carried it, per request. */
  calls: { method: string; connection: number }[];
  /** Whether each connection resumed a TLS session, in the same order. */
  resumed: boolean[];
}

const ca = createCa("proxy test CA");
const cert = issueCertificate(ca, { cn: "127.0.0.1", altNames: ["127.0.0.1"], usage: "server" });

/** Hands the method name of the XML-RPC call `req` carries to `handle`, once it is read. */
function onCall(req: IncomingMessage, handle: (methodName: string) => void): void {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => handle(parseMethodCall(Buffer.concat(chunks).toString("utf8")).methodName));
}

/**
 * A TLS XML-RPC server answering every method with its own name. `closes`: Connection: close on
 * every answer, as upstream's HTTP/1.0 server. `before(method, seen)` may hold an answer back.
 * `alpn`: names HTTP/1.1 in the handshake, as vacfg's server (node's https) does; upstream's names nothing.
 */
async function startServer(closes: boolean, before: (method: string, seen: Seen) => Promise<void> = async () => {}, alpn = !closes): Promise<{ server: Server; url: string; seen: Seen }> {
  const seen: Seen = { connections: [], calls: [], resumed: [] };
  // node's https server names HTTP/1.1 unless told to name nothing
  const server = createServer({ cert: cert.certPem, key: cert.keyPem, ...(alpn ? {} : { ALPNProtocols: [] }) }, (req, res) => {
    onCall(req, (methodName) => {
      seen.calls.push({ method: methodName, connection: seen.connections.indexOf(req.socket as TLSSocket) });
      void before(methodName, seen).then(() => {
        res.writeHead(200, { "Content-Type": "text/xml", ...(closes ? { Connection: "close" } : {}) });
        res.end(serializeMethodResponse({ kind: "result", value: methodName }));
      });
    });
  });
  server.on("secureConnection", (s: TLSSocket) => (seen.connections.push(s), seen.resumed.push(s.isSessionReused())));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}


/** How many connections the server has seen once it saw `n`, or after 2 s (the old code opens fewer). */
async function connectionsBy(seen: Seen, n: number): Promise<number> {
  for (let i = 0; i < 200 && seen.connections.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return seen.connections.length;
}

describe("agent XML-RPC proxy: connections", function () {
  this.timeout(60_000);
  let server: Server | undefined;
  let work: string;
  let caFile: string;
  before(() => {
    work = tempDir("vacfg-proxy-");
    caFile = join(work, "ca.crt");
    writeFileSync(caFile, ca.certPem);
  });
  after(() => removeDir(work));
  const proxyFor = (url: string, retries = 3) =>
    new XmlRpcProxy({ url, user: "node1", password: "secret", ca: caFile, insecure: false, retries, retryDelayMs: 60_000, timeoutMs: 30_000, log: createLogger("error") });
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it("to a server that closes after each call: the next call's connection is open before this call is answered, carries exactly that call, and resumes the TLS session", async () => {
    let openBeforeB = -1;
    const s = await startServer(true, async (method, seen) => {
      if (method !== "B") return;
      // answer B only once the connection for C has been opened (or after a bound, for the old code)
      openBeforeB = await connectionsBy(seen, 3);
    });
    server = s.server;
    const proxy = proxyFor(s.url);
    try {
      expect(await proxy.call("A")).to.equal("A");
      const b = proxy.call("B");
      proxy.preconnect();
      expect(await b).to.equal("B");
      expect(await proxy.call("C")).to.equal("C");
    } finally {
      proxy.close();
    }
    expect(openBeforeB, "C's connection open while B was being answered").to.equal(3);
    expect(s.seen.calls.map((c) => c.method)).to.deep.equal(["A", "B", "C"]);
    expect(new Set(s.seen.calls.map((c) => c.connection)), "a connection of its own per call").to.have.property("size", 3);
    expect(s.seen.connections).to.have.length(3);
    // the first handshake is the only full one: the connection opened ahead resumes its session (as node's agent does its own)
    expect(s.seen.resumed).to.deep.equal([false, true, true]);
  });

  it("tells when the first connection's handshake is done, before its call is answered", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const s = await startServer(true, async () => held);
    server = s.server;
    const proxy = proxyFor(s.url);
    try {
      let answered = false;
      const a = proxy.call("A").then((v) => ((answered = true), v));
      await proxy.secured;
      expect(answered, "told before the answer").to.equal(false);
      release();
      expect(await a).to.equal("A");
    } finally {
      release();
      proxy.close();
    }
  });

  /**
   * To a server that names no protocol (upstream's): `ask` connections asked for before the first
   * answer (preconnect() when undefined), then the `next` calls, each counting the ones after it.
   * How many connections were up when the first call was answered, and what the server saw.
   */
  async function besideFirstCall(ask: number | undefined, next: string[]) {
    let openBeforeA = -1;
    const s = await startServer(true, async (method, seen) => {
      if (method !== "A") return;
      // answer A only once the connections asked for are up (or after a bound, for the old code)
      openBeforeA = await connectionsBy(seen, 1 + (ask ?? 1));
    });
    server = s.server;
    const proxy = proxyFor(s.url);
    try {
      const a = proxy.call("A");
      if (ask === undefined) proxy.preconnect();
      else proxy.preconnect(ask);
      expect(await a).to.equal("A");
      for (const [i, m] of next.entries()) {
        const answer = proxy.call(m);
        proxy.preconnect(next.length - i - 1); // those asked for are open already: nothing more opens
        expect(await answer).to.equal(m);
      }
    } finally {
      proxy.close();
    }
    return { openBeforeA, seen: s.seen };
  }

  it("to a server that names no protocol (upstream's): the connection asked for before the first answer opens beside the first call", async () => {
    const { openBeforeA, seen } = await besideFirstCall(undefined, ["B"]);
    expect(openBeforeA, "B's connection open while A was being answered").to.equal(2);
    expect(seen.calls).to.deep.equal([
      { method: "A", connection: 0 },
      { method: "B", connection: 1 },
    ]);
  });

  it("to a server that names no protocol: the connections of every call said to follow open beside the first call, and each next call takes one in turn", async () => {
    const { openBeforeA, seen } = await besideFirstCall(2, ["B", "C"]);
    expect(openBeforeA, "B's and C's connections open while A was being answered").to.equal(3);
    expect(seen.calls).to.deep.equal([
      { method: "A", connection: 0 },
      { method: "B", connection: 1 },
      { method: "C", connection: 2 },
    ]);
    expect(seen.connections).to.have.length(3);
  });

  it("to a kept-alive server that names no protocol: the connection opened on that guess is closed by the first answer, and one connection carries every call", async () => {
    const s = await startServer(false, async () => {}, false);
    server = s.server;
    const closed: Promise<unknown>[] = [];
    s.server.on("secureConnection", (sock: TLSSocket) => closed.push(once(sock, "close")));
    const proxy = proxyFor(s.url);
    try {
      const a = proxy.call("A");
      proxy.preconnect();
      expect(await a).to.equal("A");
      for (const m of ["B", "C"]) expect(await proxy.call(m)).to.equal(m);
      // the guessed one (the second, if it got as far as the server before the answer) is closed by the agent
      if (s.seen.connections.length > 1) await closed[1];
    } finally {
      proxy.close();
    }
    expect(s.seen.calls.map((c) => c.connection)).to.deep.equal([0, 0, 0]);
    expect(s.seen.connections.length).to.be.at.most(2);
  });

  it("to a server that closes after each call but names HTTP/1.1: asked for before the first answer, the next connection opens once that answer says so, before the next call", async () => {
    const s = await startServer(true, async () => {}, true);
    server = s.server;
    const proxy = proxyFor(s.url);
    try {
      const a = proxy.call("A");
      proxy.preconnect(); // no answer yet: nothing tells whether the server closes
      expect(await a).to.equal("A");
      // B's connection is opened without B being called (or never, by the old code: bounded)
      expect(await connectionsBy(s.seen, 2), "opened before B is called").to.equal(2);
      expect(await proxy.call("B")).to.equal("B");
    } finally {
      proxy.close();
    }
    expect(s.seen.calls).to.deep.equal([
      { method: "A", connection: 0 },
      { method: "B", connection: 1 },
    ]);
  });

  it("to a kept-alive server: one connection carries every call, and preconnect opens none", async () => {
    const s = await startServer(false);
    server = s.server;
    const proxy = proxyFor(s.url);
    try {
      for (const m of ["A", "B", "C"]) {
        const answer = proxy.call(m);
        proxy.preconnect();
        expect(await answer).to.equal(m);
      }
    } finally {
      proxy.close();
    }
    expect(s.seen.connections).to.have.length(1);
    expect(s.seen.calls.map((c) => c.connection)).to.deep.equal([0, 0, 0]);
  });

  it("a connection opened ahead with a time bound carries the call that takes it in time; one not taken by then is closed, without a request, and the call after connects itself", async () => {
    const s = await startServer(true);
    server = s.server;
    const proxy = proxyFor(s.url, 1);
    try {
      expect(await proxy.call("A")).to.equal("A");
      proxy.preconnect(1, 60_000);
      expect(await connectionsBy(s.seen, 2)).to.equal(2);
      expect(await proxy.call("B")).to.equal("B");
      proxy.preconnect(1, 100);
      expect(await connectionsBy(s.seen, 3), "opened at once").to.equal(3);
      const spare = s.seen.connections[2]!;
      // the agent closes it, unasked (bounded for the old code, which keeps it)
      if (!spare.destroyed) await Promise.race([once(spare, "close"), new Promise((r) => setTimeout(r, 5000))]);
      expect(spare.destroyed, "closed by the agent").to.equal(true);
      expect(await proxy.call("C")).to.equal("C");
    } finally {
      proxy.close();
    }
    expect(s.seen.calls).to.deep.equal([
      { method: "A", connection: 0 },
      { method: "B", connection: 1 },
      { method: "C", connection: 3 },
    ]);
  });

  it("a connection opened ahead that the server dropped: the call connects again at once, within one try (-R 1) and without the retry delay", async () => {
    const s = await startServer(true);
    server = s.server;
    // the server drops the connection opened ahead (the second) before any request on it, as one idle too long
    const dropped = new Promise<void>((resolve) =>
      s.server.on("secureConnection", (sock: TLSSocket) => {
        if (s.seen.connections.length !== 2) return;
        sock.destroy();
        resolve();
      }),
    );
    const proxy = proxyFor(s.url, 1);
    try {
      expect(await proxy.call("A")).to.equal("A");
      proxy.preconnect();
      await dropped;
      // whether the drop has reached this side yet or not, B is answered (the retry delay is a minute)
      expect(await proxy.call("B")).to.equal("B");
    } finally {
      proxy.close();
    }
    expect(s.seen.calls.map((c) => c.method)).to.deep.equal(["A", "B"]);
    expect(s.seen.connections).to.have.length(3);
  });

  it("reads a gzip-compressed answer (zlib loaded for it), a compressed fault as the fault, and refuses a damaged body with an error", async () => {
    // vacfg's server compresses when told to (gzipMinBytes); each method here answers otherwise
    const served = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      onCall(req, (methodName) => {
        const body = serializeMethodResponse(methodName === "Fails" ? { kind: "fault", faultCode: 7, faultString: "no such client" } : { kind: "result", value: `<Configuration name="${methodName}"/>` });
        res.writeHead(200, { "Content-Type": "text/xml", "Content-Encoding": "gzip" });
        res.end(methodName === "Damaged" ? Buffer.from("not gzip at all") : gzipSync(body));
      });
    });
    server = served;
    served.listen(0, "127.0.0.1");
    await once(served, "listening");
    const proxy = proxyFor(`https://127.0.0.1:${(served.address() as AddressInfo).port}`, 1);
    try {
      expect(await proxy.call("GetConfig")).to.equal('<Configuration name="GetConfig"/>');
      const fault = await proxy.call("Fails").then(() => undefined, (e: unknown) => e);
      expect(fault).to.include({ faultCode: 7, faultString: "no such client" });
      const damaged = await proxy.call("Damaged").then(() => undefined, (e: unknown) => e as Error);
      expect(damaged?.message).to.match(/header check|incorrect|invalid/i);
    } finally {
      await proxy.close();
    }
  });
});
