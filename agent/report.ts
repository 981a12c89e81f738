// What a run reports: the Phase summaries upstream prints, and the statistics document for RecvStats.
import { serializeStatistics } from "../protocol/documents/statistics.js";
import { cloneElement, type XmlElement } from "../protocol/xml.js";
import type { Logger } from "./log.js";

export function entryLabel(e: XmlElement): string {
  const t = e.attrs.type;
  return t ? `${e.tag}:${t}:${e.attrs.name}` : `${e.tag}:${e.attrs.name}`;
}

const byKey = (a: XmlElement, b: XmlElement) => {
  const x = `${a.tag}:${a.attrs.name}`;
  const y = `${b.tag}:${b.attrs.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
};

export function displayState(log: Logger, phase: "initial" | "final", states: Map<XmlElement, boolean>, extra: XmlElement[], showExtra: boolean): void {
  const vals = [...states.values()];
  const bad = vals.filter((v) => !v).length;
  log.summary(`Phase: ${phase}`);
  log.summary(`Correct entries:        ${vals.length - bad}`);
  log.summary(`Incorrect entries:      ${bad}`);
  if (phase === "final" && bad) for (const e of [...states.keys()].sort(byKey)) if (!states.get(e)) log.summary(entryLabel(e));
  log.summary(`Total managed entries: ${vals.length}`);
  log.summary(`Unmanaged entries:      ${extra.length}`);
  if (phase === "final" && showExtra) for (const e of [...extra].sort(byKey)) log.summary(entryLabel(e));
  if (bad === 0 && extra.length === 0) log.summary("All entries correct.");
}

/** A copy of an entry as statistics carry it: no text, qtext="". */
function statCopy(e: XmlElement): XmlElement {
  const c = cloneElement(e);
  delete c.text;
  delete c.tail;
  c.attrs.qtext = "";
  return c;
}

export interface StatsInput {
  states: Map<XmlElement, boolean>;
  modified: XmlElement[];
  extra: XmlElement[];
  revision: string;
  dryRun: boolean;
  times: Record<string, number>;
}

export function buildStatistics(s: StatsInput): string {
  const entries = [...s.states.entries()];
  const good = entries.filter(([, v]) => v).map(([e]) => e);
  const bad = entries.filter(([, v]) => !v).map(([e]) => e);
  return serializeStatistics({
    total: entries.length,
    good: good.length,
    state: bad.length ? "dirty" : "clean",
    version: "2.0",
    revision: s.revision,
    flags: { dry_run: s.dryRun ? "True" : "False", only_important: "False" },
    modified: s.modified.map(statCopy),
    extra: s.extra.map(statCopy),
    goodEntries: good.map(statCopy),
    bad: bad.map(statCopy),
    opStamps: Object.fromEntries(Object.entries(s.times).map(([k, v]) => [k, String(v)])),
  });
}
