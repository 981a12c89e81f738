// How the test runners end: mocha's own exit code, or, when mocha was killed by a signal (no summary
// printed), a line that says which signal, so a run cut short never passes for a silent failure.
import type { SpawnSyncReturns } from "node:child_process";

export function exitLikeMocha(r: SpawnSyncReturns<unknown>): never {
  if (r.error) console.error(`[test] mocha could not run: ${r.error.message}`);
  if (r.signal) console.error(`[test] mocha (pid ${r.pid}) was killed by ${r.signal}: the run was cut short before its summary`);
  process.exit(r.status ?? 1);
}
