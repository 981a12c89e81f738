// Runs N worker threads that race to open (and migrate) one store and insertIfAbsent one key.
import { Worker } from "node:worker_threads";
import type { RaceJob, RaceResult } from "./store-race-worker.js";

export async function raceInsertIfAbsent(url: string, parties: number, kind: string, key: string): Promise<RaceResult[]> {
  const barrier = new SharedArrayBuffer(4);
  const runs = Array.from({ length: parties }, (_, i) => {
    const job: RaceJob = { url, barrier, parties, kind, key, value: { worker: i } };
    return new Promise<RaceResult>((resolve, reject) => {
      const w = new Worker(new URL("./store-race-worker.js", import.meta.url), { workerData: job });
      w.once("message", (m: RaceResult) => resolve(m));
      w.once("error", reject);
      w.once("exit", (code) => code !== 0 && reject(new Error(`race worker exited with ${code}`)));
    });
  });
  return Promise.all(runs);
}
