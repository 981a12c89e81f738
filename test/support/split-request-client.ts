// The test's side of split-request-worker.ts: starts the worker for a server port and hands its
// messages over one at a time (its "connected" notice, then one reply per round posted to it).
import { Worker } from "node:worker_threads";
import type { SplitReply, SplitRequestJob } from "./split-request-worker.js";

export type SplitMessage = SplitReply | { connected: true };

export interface SplitRequestClient {
  worker: Worker;
  job: SplitRequestJob;
  /** Int32Array over job.sent: slot 0 becomes 1 once the worker sent the whole request. */
  sent: Int32Array;
  /** The worker's next message; an error in the worker arrives as `{ error }`. */
  next(): Promise<SplitMessage>;
}

export function splitRequestClient(port: number): SplitRequestClient {
  const job: SplitRequestJob = { port, sent: new SharedArrayBuffer(4) };
  const worker = new Worker(new URL("./split-request-worker.js", import.meta.url), { workerData: job });
  const inbox: SplitMessage[] = [];
  let wake: (() => void) | undefined;
  worker.on("message", (m: SplitMessage) => {
    inbox.push(m);
    wake?.();
  });
  worker.on("error", (e) => {
    inbox.push({ error: e.message });
    wake?.();
  });
  const next = async (): Promise<SplitMessage> => {
    while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
    return inbox.shift()!;
  };
  return { worker, job, sent: new Int32Array(job.sent), next };
}
