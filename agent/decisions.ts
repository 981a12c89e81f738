// Server decision lists (-l whitelist|blacklist): [tag, name] pairs matched with fnmatch.
import { globToRegExp as fnmatchToRegExp } from "../lib/fnmatch.js";

export type Decision = [string, string];

export function parseDecisionList(v: unknown): Decision[] {
  if (!Array.isArray(v)) return [];
  return v.filter((p): p is [string, string] => Array.isArray(p) && p.length === 2 && typeof p[0] === "string" && typeof p[1] === "string");
}

export function matchesDecision(list: Decision[], tag: string, name: string): boolean {
  return list.some(([t, n]) => (t === tag && n === name) || (fnmatchToRegExp(t).test(tag) && fnmatchToRegExp(n).test(name)));
}
