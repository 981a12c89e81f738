// Worker thread for keepalive-fresh.test.ts (started by split-request-client.ts): a client with one kept-alive TLS connection, in its own
// event loop, that sends a request in two writes with an edit of a repository file in between,
// while the server's thread (the test's main thread) is held in Atomics.wait. When the server's loop
// runs again, the socket was readable before the edit's inotify event was queued: the kernel reports
// the socket first, so the request is read in that poll phase before the watcher has seen the edit.
// request-turns.test.ts also has it send a request the moment the previous answer is in.
import { renameSync, writeFileSync } from "node:fs";
import tls from "node:tls";
import { parentPort, workerData } from "node:worker_threads";

export interface SplitRequestJob {
  port: number;
  /** Int32Array slot 0: the worker sets it to 1 (and notifies) once the whole request is sent. */
  sent: SharedArrayBuffer;
}

/**
 * One request, sent as `head` then `rest`. With `edit`: `content` is written to `path` (renamed over
 * it when `rename`) between the two halves, and `sent` is set once the second is out. With `then`
 * (and no edit): the moment its answer is in, the whole request `then` is sent, `sent` is set, and
 * the reply is `then`'s answer.
 */
export interface SplitRound {
  head: string;
  rest: string;
  edit?: { path: string; content: string; rename: boolean };
  then?: string;
}

export type SplitReply = { status: number; body: string; localPort: number } | { error: string };

const job = workerData as SplitRequestJob;
const sent = new Int32Array(job.sent);

function signalSent(): void {
  Atomics.store(sent, 0, 1);
  Atomics.notify(sent, 0);
}

function written(socket: tls.TLSSocket, data: string): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));
}

/** Resolves with the next whole response (Content-length framed) on `socket`. */
function reply(socket: tls.TLSSocket): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
      if (!(buf.length >= end + 4 + length)) return;
      socket.off("data", onData);
      socket.off("error", reject);
      resolve({ status: Number(head.split(" ")[1]), body: buf.subarray(end + 4, end + 4 + length).toString("utf8") });
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
}

const socket = tls.connect({ host: "127.0.0.1", port: job.port, rejectUnauthorized: false });
// Each half goes out at once (no Nagle wait for the first half's acknowledgement).
socket.setNoDelay(true);
socket.once("secureConnect", () => parentPort!.postMessage({ connected: true }));
socket.once("error", (e) => parentPort!.postMessage({ error: e.message }));

parentPort!.on("message", (round: SplitRound) => {
  void (async (): Promise<SplitReply> => {
    const answered = reply(socket);
    const edit = round.edit;
    if (edit === undefined) {
      await written(socket, round.head + round.rest);
      const first = await answered;
      if (round.then === undefined || first.status !== 200) return { ...first, localPort: socket.localPort ?? 0 };
      const next = reply(socket);
      try {
        await written(socket, round.then);
      } finally {
        signalSent();
      }
      return { ...(await next), localPort: socket.localPort ?? 0 };
    }
    try {
      await written(socket, round.head);
      // The first half is in the server socket's receive queue (loopback delivers it within the
      // write): the socket is on the server's ready list before the edit's event is.
      await new Promise((r) => setTimeout(r, 5));
      if (edit.rename) {
        writeFileSync(`${edit.path}.tmp`, edit.content);
        renameSync(`${edit.path}.tmp`, edit.path);
      } else writeFileSync(edit.path, edit.content);
      await written(socket, round.rest);
    } finally {
      signalSent();
    }
    return { ...(await answered), localPort: socket.localPort ?? 0 };
  })().then(
    (r) => parentPort!.postMessage(r),
    (e: unknown) => parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) }),
  );
});
