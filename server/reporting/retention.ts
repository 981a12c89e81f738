// How long stored runs are kept: `vacfg reports purge --older-than DURATION` and the server's
// optional automatic retention (`[reporting] keep_runs` in vacfg.conf). Each client's newest run
// always stays, so the reports still show every client's last state.
import type { Logger } from "pino";
import type { Store } from "../store/store.js";

/** Deletes runs older than `keepMs` (each client's newest run stays); returns how many went. */
export async function purgeOldRuns(store: Store, keepMs: number, now = Date.now()): Promise<number> {
  return store.purgeRuns(now - keepMs);
}

/** How often the server applies its retention. */
export const RETENTION_EVERY_MS = 3_600_000;

/** Applies the retention now and then every hour; the returned function stops it. */
export function startRetention(store: Store, keepMs: number, logger: Logger): () => void {
  const run = (): void => {
    purgeOldRuns(store, keepMs).then(
      (n) => {
        if (n > 0) logger.info({ purged: n, keepMs }, "purged runs past the retention period");
      },
      (e: unknown) => logger.error({ err: (e as Error).message }, "run retention failed"),
    );
  };
  run();
  const timer = setInterval(run, RETENTION_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
