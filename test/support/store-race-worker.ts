// Worker thread for store race tests: waits at a shared barrier, then all workers open the
// same store (racing migrate()) and insertIfAbsent the same key at once; posts what it saw.
import { parentPort, workerData } from "node:worker_threads";
import { openStore } from "../../server/store/open-store.js";

export interface RaceJob {
  url: string;
  /** Int32Array slot 0 counts arrived workers; all proceed when it reaches `parties`. */
  barrier: SharedArrayBuffer;
  parties: number;
  kind: string;
  key: string;
  value: unknown;
}

export interface RaceResult {
  inserted?: boolean;
  error?: string;
}

function arriveAndWait(buf: SharedArrayBuffer, parties: number): void {
  const a = new Int32Array(buf);
  if (Atomics.add(a, 0, 1) + 1 === parties) Atomics.notify(a, 0);
  for (let v = Atomics.load(a, 0); v < parties; v = Atomics.load(a, 0)) Atomics.wait(a, 0, v, 1000);
}

async function race(job: RaceJob): Promise<RaceResult> {
  arriveAndWait(job.barrier, job.parties);
  const store = await openStore(job.url);
  try {
    return { inserted: await store.insertIfAbsent(job.kind, job.key, job.value) };
  } finally {
    await store.close();
  }
}

race(workerData as RaceJob).then(
  (r) => parentPort!.postMessage(r),
  (e: unknown) => parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) }),
);
