// Readiness of a deployed node, from the statistics its agent sent the configuration server (the
// runs in the store they share): contextualized at its first clean run since the VM was booted
// (created, or replaced by an update), as Nimbus's context broker and `cloud-init status` tell
// users; until then the last run says why not.
import type { RunQuery, StatsEntry, StoredRun } from "../../server/store/store.js";
import type { Readiness, VmRecord } from "./types.js";

/** Where the runs are: the configuration server's store (the workspace's own when they share one). */
export interface RunSource {
  listRuns(q?: RunQuery): Promise<StoredRun[]>;
  getRunEntries(runId: number): Promise<StatsEntry[]>;
}

/** How many of a node's newest runs are looked at for its first clean one. */
const RUNS_LOOKED_AT = 200;
const ERRORS_SHOWN = 3;

/** What was wrong with a dirty run: its bad entries, with the reason the client gave when it gave one. */
async function runErrors(run: StoredRun, runs: RunSource): Promise<string> {
  const bad = (await runs.getRunEntries(run.id)).filter((e) => e.kind === "bad");
  if (bad.length === 0) return `run not clean (${run.bad} bad entries)`;
  const shown = bad.slice(0, ERRORS_SHOWN).map((e) => `${e.tag}:${e.name}${e.attrs.failure ? ` (${e.attrs.failure})` : ""}`);
  return `${bad.length} bad: ${shown.join(", ")}${bad.length > ERRORS_SHOWN ? ", …" : ""}`;
}

/** The node's readiness now; `known` (the recorded one) is kept once ready, only the last run moves on. */
export async function readinessOf(rec: VmRecord, runs: RunSource): Promise<Readiness> {
  // Real runs since this VM's disk was booted (a dry run changes nothing, so it contextualizes nothing).
  const since = rec.bootedAt ?? rec.createdAt;
  const mine = (await runs.listRuns({ client: rec.fqdn.toLowerCase(), limit: RUNS_LOOKED_AT }))
    .filter((r) => r.timestamp >= since && !r.dryRun)
    .sort((a, b) => a.timestamp - b.timestamp || a.id - b.id);
  const last = mine[mine.length - 1];
  if (!last) return { state: "pending", lastError: "no run reported yet" };
  const firstClean = rec.readiness?.contextualizedAt ?? mine.find((r) => r.state === "clean")?.timestamp;
  return {
    state: firstClean !== undefined ? "ready" : "pending",
    ...(firstClean !== undefined ? { contextualizedAt: firstClean } : {}),
    lastRunAt: last.timestamp,
    lastRunState: last.state,
    ...(last.state === "dirty" ? { lastError: await runErrors(last, runs) } : {}),
  };
}
