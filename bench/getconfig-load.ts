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
  /** One caller alone: every other call goes to this port instead (its latencies in `alternateLatenciesMs`). */
  alternatePort?: number;
}

export interface LoadResult {
  calls: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
  alternateLatenciesMs?: number[];
  firstError?: string;
}

function once(spec: LoadSpec, agent: https.Agent | false, port = spec.port): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port, method: "POST", path: "/RPC2", headers: spec.headers, agent, rejectUnauthorized: false },
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

/** One caller, every other call to the other port: both servers measured call by call under the same load. */
async function runAlternating(spec: LoadSpec & { alternatePort: number }): Promise<LoadResult> {
  const lat: [number[], number[]] = [[], []];
  const ports = [spec.port, spec.alternatePort];
  const agents = ports.map(() => (spec.keepAlive ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : false));
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  try {
    for (let i = 0; i < spec.total && performance.now() < t0 + spec.deadlineMs; i++) {
      const side = i % 2;
      const s = performance.now();
      try {
        await once(spec, agents[side], ports[side]);
        lat[side].push(performance.now() - s);
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
    }
  } finally {
    for (const a of agents) if (a) a.destroy();
  }
  return { calls: lat[0].length + lat[1].length, errors, seconds: (performance.now() - t0) / 1000, latenciesMs: lat[0], alternateLatenciesMs: lat[1], firstError };
}

if (parentPort) {
  const spec = workerData as LoadSpec;
  const result = spec.alternatePort === undefined ? await runLoad(spec) : await runAlternating({ ...spec, alternatePort: spec.alternatePort });
  parentPort.postMessage(result);
}
