// Reading what an agent run reported (the statistics document it wrote with --stats-file).
import { readFileSync } from "node:fs";
import { parseStatistics, type Statistics } from "../../protocol/documents/statistics.js";

export function readStats(path: string): Statistics {
  return parseStatistics(readFileSync(path, "utf8"));
}

export function names(list: Statistics["bad"]): string[] {
  return list.map((e) => `${e.tag}:${e.attrs.name}`).sort();
}
