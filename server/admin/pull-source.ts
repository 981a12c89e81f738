// bcfg2-admin pull's PullSource (upstream Reporting's GetCurrentEntry): an entry's state on a
// client as its last statistics reported it: a bad entry of its newest run, with its current_*
// owner, group and mode (the configured ones where the client reported none) and, for a file,
// its current content (current_bfile) or the diff to what the server sent (current_bdiff).
import { VacfgError } from "../../protocol/errors.js";
import type { Store, StatsEntry } from "../store/store.js";

export interface CurrentState {
  owner: string;
  group: string;
  mode: string;
  /** The client's file (current_bfile), or the unified diff from it to the server's (current_bdiff). */
  content?: { kind: "file"; data: Buffer } | { kind: "diff"; diff: string };
  /** The run it comes from (ms since epoch), for messages. */
  received: number;
}

function fail(message: string): never {
  throw new VacfgError("PULL", message);
}

/** Upstream's choice per attribute: the client's current value, else the configured one (Reporting's target defaults). */
function perm(e: StatsEntry, key: "owner" | "group" | "mode"): string {
  const current = key === "mode" ? (e.attrs.current_mode ?? e.attrs.current_perms) : e.attrs[`current_${key}`];
  // Clients report ids ("0"); id 0 is root everywhere, so a configured "root" stays (upstream writes "0").
  if (current === "0" && key !== "mode" && (e.attrs[key] ?? "root") === "root") return "root";
  if (current) return current;
  if (key === "mode") return e.attrs.mode ?? e.attrs.perms ?? "";
  return e.attrs[key] ?? "root";
}

export async function currentState(store: Store, client: string, tag: string, name: string): Promise<CurrentState> {
  const [run] = await store.listRuns({ client, limit: 1 });
  if (!run) fail(`Unknown client: ${client} has sent no statistics`);
  const when = new Date(run.timestamp).toISOString();
  const entry = (await store.getRunEntries(run.id)).find((e) => e.kind === "bad" && e.tag === tag && e.name === name);
  if (!entry) fail(`${client}'s last run (${when}) has no bad ${tag} ${name}: nothing to pull`);
  if ((entry.attrs.sensitive ?? "").toLowerCase() === "true") fail(`${tag} ${name} is sensitive: its content is never reported, so it cannot be pulled`);
  if ((entry.attrs.current_exists ?? "true").toLowerCase() === "false") fail(`${name} does not exist on ${client} (last run ${when}): nothing to pull`);
  const state: CurrentState = { owner: perm(entry, "owner"), group: perm(entry, "group"), mode: perm(entry, "mode"), received: run.timestamp };
  const bfile = entry.attrs.current_bfile;
  if (bfile !== undefined) state.content = { kind: "file", data: Buffer.from(bfile, "base64") };
  else if (entry.diff !== undefined) state.content = { kind: "diff", diff: entry.diff };
  return state;
}
