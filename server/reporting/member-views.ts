// The per-group and per-bundle views as data: which clients a group or bundle holds (those whose
// newest run carried it, as Bcfg2 Reporting files each interaction under its groups and bundles),
// and the summary of each.
import type { MemberKind, Store } from "../store/store.js";
import { summarize, type ClientRow, type ReportOptions, type Summary } from "./report-model.js";

export interface MemberGroup {
  name: string;
  rows: ClientRow[];
  summary: Summary;
}

/** Every group (or bundle) of a client's newest run as of opts.asOf, with its clients, by name. */
export async function membersOf(store: Store, kind: MemberKind, rows: ClientRow[], opts: ReportOptions): Promise<MemberGroup[]> {
  const byRun = new Map(rows.filter((r) => r.lastRun).map((r) => [r.lastRun!.id, r]));
  const byName = new Map<string, ClientRow[]>();
  for (const m of await store.runMembers([...byRun.keys()], kind)) {
    const row = byRun.get(m.runId);
    if (!row) continue;
    (byName.get(m.name) ?? byName.set(m.name, []).get(m.name)!).push(row);
  }
  return [...byName.entries()].map(([name, members]) => {
    members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { name, rows: members, summary: summarize(members, opts) };
  });
}

export const MEMBER_KINDS: Record<string, MemberKind> = { group: "group", bundle: "bundle" };
