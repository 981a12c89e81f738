// The "Reporting" plugin: turns a client's Statistics document into a RunRecord and stores it
// durably (RecvStats answers only after the store has committed it).
import type { Statistics } from "../../protocol/documents/statistics.js";
import type { XmlElement } from "../../protocol/xml.js";
import type { RunRecord, StatsEntry, StatsEntryKind } from "../store/store.js";
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { ClientMetadata } from "../core/metadata.js";
import type { AnyPlugin, StatisticsRole } from "../core/roles.js";

function toEntry(kind: StatsEntryKind, e: XmlElement): StatsEntry {
  const attrs: Record<string, string> = {};
  let diff: string | undefined;
  for (const [k, v] of Object.entries(e.attrs)) {
    if (k === "qtext") continue;
    if (k === "current_bdiff" || k === "current_bfile") {
      // The client sends the unified diff / current file base64-encoded; the store keeps text to
      // show, and the file itself as sent (bytes exactly: `vacfg pull` writes it back).
      diff = Buffer.from(v, "base64").toString("utf8");
      if (k === "current_bdiff") continue;
    }
    attrs[k] = v;
  }
  const entry: StatsEntry = { kind, tag: e.tag, name: e.attrs.name ?? "", attrs };
  if (diff !== undefined) entry.diff = diff;
  return entry;
}

/** The run record for one Statistics document. */
export function runRecordOf(client: string, s: Statistics, now = Date.now()): RunRecord {
  const timings: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.opStamps)) {
    const n = Number(v);
    if (Number.isFinite(n)) timings[k] = n;
  }
  return {
    client,
    timestamp: now,
    state: s.state,
    total: s.total,
    good: s.good,
    bad: s.bad.length,
    modified: s.modified.length,
    extra: s.extra.length,
    revision: s.revision,
    dryRun: (s.flags.dry_run ?? "").toLowerCase() === "true",
    flags: { ...s.flags },
    timings,
    entries: [
      ...s.bad.map((e) => toEntry("bad", e)),
      ...s.modified.map((e) => toEntry("modified", e)),
      ...s.extra.map((e) => toEntry("extra", e)),
      ...s.goodEntries.map((e) => toEntry("good", e)),
    ],
  };
}

export class StatisticsStorePlugin implements AnyPlugin, StatisticsRole {
  readonly name = "Reporting";
  constructor(private readonly ctx: PluginContext) {}

  async processStatistics(meta: ClientMetadata, stats: Statistics): Promise<void> {
    const run = runRecordOf(meta.hostname, stats);
    // What the reports group runs by (per-group and per-bundle views), as the server saw the client now.
    run.groups = [...meta.groups].sort();
    run.bundles = [...meta.bundles].sort();
    const id = await this.ctx.store.recordRun(run);
    this.ctx.logger.debug({ client: meta.hostname, run: id }, "stored run");
  }
}

export const reportingPlugin: PluginFactory = (ctx) => new StatisticsStorePlugin(ctx);
