// `vacfg server --workers N`: N server processes on one machine (Node's cluster module) sharing one
// listening port and one store. The primary only supervises: it forks the workers, restarts one
// that dies, and on SIGTERM/SIGINT stops them all. Workers are stateless between requests (all
// state is in the store and the repository), so any worker can answer any call.
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { CLOSE_GRACE_MS } from "./serve.js";
import { stopOnSignals } from "./stop-on-signals.js";

/** What a worker runs: start one server (startServer) and return how to stop it. */
export type StartWorker = () => Promise<{ url: string; close(): Promise<void> }>;

export interface ClusterPrimary {
  role: "primary";
  /** The shared URL, once the first worker listens. */
  url: string;
  /** Current worker pids. */
  pids(): number[];
  /** How many workers were started again after one died. */
  restarts(): number;
  close(): Promise<void>;
}

export interface ClusterWorker {
  role: "worker";
  url: string;
  close(): Promise<void>;
}

interface ListeningMessage {
  type: "vacfg-listening";
  url: string;
}

const RESTART_DELAY_MS = 500;
/** A worker still alive this long after it was told to stop is killed (its own close is bounded by CLOSE_GRACE_MS). */
const WORKER_STOP_DEADLINE_MS = CLOSE_GRACE_MS + 1_000;
/** A worker that dies this often in a row within a minute is not restarted again (crash loop). */
const MAX_QUICK_RESTARTS = 10;

function isListening(m: unknown): m is ListeningMessage {
  return typeof m === "object" && m !== null && (m as ListeningMessage).type === "vacfg-listening";
}

/**
 * Call from the `vacfg server` action in both roles: in the primary it forks `workers` processes
 * (each re-runs the same command line and so reaches this call again as a worker) and resolves once
 * all listen; in a worker it starts the server and tells the primary.
 */
export async function serveClustered(workers: number, start: StartWorker, logger?: Logger): Promise<ClusterPrimary | ClusterWorker> {
  if (!cluster.isPrimary) {
    const srv = await start();
    // SIGTERM from the primary, SIGINT from a terminal's Ctrl-C (the whole group); a primary that
    // went away without a word disconnects the IPC channel. Not cluster's own worker.disconnect(),
    // whose close leaves kept-alive connections open until they time out.
    const { trigger } = stopOnSignals(() => srv.close(), (e) => logger?.error({ err: e }, "worker close failed"));
    process.once("disconnect", trigger);
    process.send?.({ type: "vacfg-listening", url: srv.url } satisfies ListeningMessage);
    return { role: "worker", url: srv.url, close: () => srv.close() };
  }

  if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new Error(`--workers must be a whole number from 1 to 256, got ${workers}`);
  const log = logger?.child({ component: "cluster" });
  let stopping = false;
  let restarts = 0;
  const recentDeaths: number[] = [];
  let resolveUrl!: (url: string) => void;
  let rejectUrl!: (e: Error) => void;
  const firstUrl = new Promise<string>((res, rej) => ((resolveUrl = res), (rejectUrl = rej)));
  let listening = 0;
  const allListening = new Promise<void>((res) => {
    const onMsg = (_w: Worker, m: unknown): void => {
      if (!isListening(m)) return;
      resolveUrl(m.url);
      if (++listening >= workers) {
        cluster.off("message", onMsg);
        res();
      }
    };
    cluster.on("message", onMsg);
  });

  const onExit = (w: Worker, code: number | null, signal: string | null): void => {
    if (stopping) return;
    log?.warn({ pid: w.process.pid, code, signal }, "worker exited; starting another");
    const now = Date.now();
    recentDeaths.push(now);
    while (recentDeaths.length && recentDeaths[0] < now - 60_000) recentDeaths.shift();
    if (recentDeaths.length > MAX_QUICK_RESTARTS) {
      log?.error({ deaths: recentDeaths.length }, "workers keep dying; not restarting");
      rejectUrl(new Error("workers keep dying at start-up; see the log"));
      return;
    }
    setTimeout(() => {
      if (stopping) return;
      restarts++;
      cluster.fork();
    }, RESTART_DELAY_MS).unref();
  };
  cluster.on("exit", onExit);
  for (let i = 0; i < workers; i++) cluster.fork();
  // A crash loop at start-up rejects firstUrl; otherwise wait for every worker.
  const url = await firstUrl;
  await Promise.race([allListening, firstUrl.then(() => allListening)]);
  log?.info({ url, workers }, "all workers listening");

  const close = async (): Promise<void> => {
    stopping = true;
    cluster.off("exit", onExit);
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    await Promise.all(
      alive.map(
        (w) =>
          new Promise<void>((res) => {
            const kill = setTimeout(() => w.process.kill("SIGKILL"), WORKER_STOP_DEADLINE_MS);
            w.once("exit", () => {
              clearTimeout(kill);
              res();
            });
            w.process.kill("SIGTERM");
          }),
      ),
    );
  };
  return {
    role: "primary",
    url,
    pids: () => Object.values(cluster.workers ?? {}).flatMap((w) => (w && !w.isDead() && w.process.pid ? [w.process.pid] : [])),
    restarts: () => restarts,
    close,
  };
}
