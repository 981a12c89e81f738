// How many event-loop turns a request waits for the repository's changes (Core.beginRequest's
// `queued`): two when its bytes may have come in the same read as an earlier request's on its
// connection (then an inotify event queued after the poll that reported the socket is seen only by
// the next poll), one otherwise, also when the server has not yet finished the previous answer's
// bookkeeping (a write's completion runs a turn after the write).
import tls from "node:tls";
import { expect } from "chai";
import type { RequestScope } from "../../../server/core/client-api.js";
import { splitRequestClient } from "../../support/split-request-client.js";
import type { SplitRound } from "../../support/split-request-worker.js";
import { startTestSite, type TestSite } from "./site.js";
import { methodCall, pythonClientHeaders } from "./wire.js";

function getConfigRequest(): string {
  const body = methodCall("GetConfig");
  const headers: Record<string, string> = { ...pythonClientHeaders("node1", "labsecret"), "Content-Length": String(Buffer.byteLength(body)) };
  return `POST /RPC2 HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n${body}`;
}

/** The statuses of the next `n` answers on `socket` (Content-length framed). */
function statuses(socket: tls.TLSSocket, n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const got: number[] = [];
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString("latin1");
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
        if (!(buf.length >= end + 4 + length)) return;
        got.push(Number(head.split(" ")[1]));
        buf = buf.subarray(end + 4 + length);
        if (got.length === n) {
          socket.off("data", onData);
          return resolve(got);
        }
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
}

describe("the event-loop turns a request waits for the repository", function () {
  this.timeout(120_000);
  let site: TestSite;
  /** `queued` of every beginRequest, in order. */
  const turns: boolean[] = [];
  /** Run once right after the next beginRequest (in the poll phase that read the request). */
  let afterBegin: (() => void) | undefined;
  const sockets: tls.TLSSocket[] = [];

  before(async function () {
    site = await startTestSite();
    const core = site.server.core;
    const begin = core.beginRequest.bind(core);
    core.beginRequest = (queued: boolean): Promise<RequestScope> => {
      turns.push(queued);
      const settled = begin(queued);
      const hook = afterBegin;
      afterBegin = undefined;
      hook?.();
      return settled;
    };
  });
  after(async function () {
    for (const s of sockets) s.destroy();
    await site?.cleanup();
  });

  const connect = (): Promise<tls.TLSSocket> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: site.server.port, rejectUnauthorized: false }, () => resolve(s));
      s.setNoDelay(true);
      s.once("error", reject);
      sockets.push(s);
    });

  it("waits two turns for requests that came in one write with the request before them", async function () {
    const socket = await connect();
    turns.length = 0;
    const answered = statuses(socket, 3);
    socket.write(getConfigRequest().repeat(3));
    expect(await answered).to.deep.equal([200, 200, 200]);
    expect(turns).to.deep.equal([false, true, true]);
  });

  it("waits two turns for a request sent with the rest of the previous request's body", async function () {
    const socket = await connect();
    const request = getConfigRequest();
    const cut = request.length - 20; // inside the body
    turns.length = 0;
    const answered = statuses(socket, 2);
    socket.write(request.slice(0, cut));
    // The first request began and passed its turn: it waits for the rest of its body.
    while (turns.length === 0) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    socket.write(request.slice(cut) + request);
    expect(await answered).to.deep.equal([200, 200]);
    expect(turns).to.deep.equal([false, true]);
  });

  it("waits one turn for a request sent the moment the previous answer arrived, before the server finished that answer", async function () {
    const { worker, next, sent: flag } = splitRequestClient(site.server.port);
    const request = getConfigRequest();
    try {
      expect(await next()).to.deep.equal({ connected: true });
      let conclusive = 0;
      for (let round = 0; round < 6; round++) {
        const hits = site.server.core.buildCache!.hits;
        turns.length = 0;
        // The first request's answer is written in the turn beginRequest waits for, when the build
        // cache answers it (a hit). The check phase then holds the server still until the client,
        // which has that answer, has sent the next request: it is read before the server runs the
        // write's completion, while the first answer is not finished.
        let held: string | undefined;
        afterBegin = () =>
          setImmediate(() => {
            if (site.server.core.buildCache!.hits === hits) return; // built, not yet written: try again
            held = Atomics.wait(flag, 0, 0, 30_000);
          });
        const pair: SplitRound = { head: request, rest: "", then: request };
        worker.postMessage(pair);
        const r = await next();
        Atomics.store(flag, 0, 0);
        if ("error" in r) expect.fail(`round ${round}: ${r.error}`);
        if (!("status" in r)) expect.fail(`round ${round}: unexpected message`);
        expect(r.status, `round ${round}`).to.equal(200);
        if (held === undefined) continue;
        expect(held, `round ${round}: the client sent the next request`).to.not.equal("timed-out");
        conclusive++;
        expect(turns, `round ${round}`).to.deep.equal([false, false]);
      }
      expect(conclusive, "rounds whose first answer came from the build cache").to.be.greaterThan(0);
    } finally {
      await worker.terminate();
    }
  });
});
