// Stopping on SIGTERM (systemd, kill) and SIGINT (Ctrl-C, sent to the whole process group): one
// handler for `vacfg server` alone, its cluster primary and each worker. The first signal runs
// the graceful close and exits 0; later signals are ignored (the close is already bounded, and a
// worker gets both the group's SIGINT and its primary's SIGTERM).
export const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;

/** Runs `close` once on the first stop signal (or `trigger()`), then exits 0 (1 when it failed). */
export function stopOnSignals(close: () => Promise<void>, onError: (e: unknown) => void = (e) => console.error(e)): { trigger(): void } {
  let stopping = false;
  const trigger = (): void => {
    if (stopping) return;
    stopping = true;
    void close().then(
      () => process.exit(0),
      (e: unknown) => {
        onError(e);
        process.exit(1);
      },
    );
  };
  for (const s of STOP_SIGNALS) process.on(s, trigger);
  return { trigger };
}
