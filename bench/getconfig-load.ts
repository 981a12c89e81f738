// Load generator for bench/getconfig.ts, run in a worker thread so that the client side does
// not share the server's event loop: C concurrent callers, each sequential, until N calls.
import https from "node:https";
import { parentPort, workerData } from "node:worker_threads";

export interface LoadSpec {
  port: number;
  concurrency: number;
  total: number;
  keepAlive: boolean;
  headers: Record<string, string>;
  body: string;
  /** Stop early (bounded run) after this many ms. */
  deadlineMs: number;
}

export interface LoadResult {
  calls: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
  firstError?: string;
}

function once(spec: LoadSpec, agent: https.Agent | false): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port: spec.port, method: "POST", path: "/RPC2", headers: spec.headers, agent, rejectUnauthorized: false },
      (res) => {
        let n = 0;
        res.on("data", (c: Buffer) => (n += c.length));
        res.on("end", () => (res.statusCode === 200 && n > 0 ? resolve() : reject(new Error(`HTTP ${res.statusCode}, ${n} bytes`))));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(spec.body);
  });
}

async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const stopAt = t0 + spec.deadlineMs;
  const caller = async (): Promise<void> => {
    const agent = spec.keepAlive ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    try {
      while (issued < spec.total && performance.now() < stopAt) {
        issued++;
        const s = performance.now();
        try {
          await once(spec, agent);
          latencies.push(performance.now() - s);
        } catch (e) {
          errors++;
          firstError ??= (e as Error).message;
        }
      }
    } finally {
      if (agent) agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, caller));
  return { calls: latencies.length, errors, seconds: (performance.now() - t0) / 1000, latenciesMs: latencies, firstError };
}

if (parentPort) {
  const result = await runLoad(workerData as LoadSpec);
  parentPort.postMessage(result);
}
