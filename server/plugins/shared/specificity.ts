// Which clients a repository file applies to (Bcfg2's Specificity): all, a group with a
// priority (.G##_group), or one host (.H_host), and the upstream precedence between them.
import { VacfgError } from "../../../protocol/errors.js";
import type { ClientMetadata } from "../../core/metadata.js";

export type Specificity =
  | { kind: "all" }
  | { kind: "group"; group: string; prio: number }
  | { kind: "host"; hostname: string };

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The filename pattern of one handler, as upstream's CfgBaseFileMatcher.get_regex:
 * `^(basename)(|.H_host|.G##_group)(.ext)?$` (the extension is required when given).
 */
export function specificRegex(basenames: string[], extensions: string[], specific = true): RegExp {
  let re = `^(?<basename>${basenames.map(escapeRe).join("|")})`;
  if (specific) re += String.raw`(|\.H_(?<hostname>\S+?)|\.G(?<prio>\d+)_(?<group>\S+?))`;
  if (extensions.length > 0) re += String.raw`\.(?<extension>${extensions.map(escapeRe).join("|")})`;
  return new RegExp(re + "$");
}

/** The specificity named by a match of specificRegex. */
export function specificityFromMatch(m: RegExpExecArray): Specificity {
  const g = m.groups ?? {};
  if (g.hostname) return { kind: "host", hostname: g.hostname };
  if (g.group) return { kind: "group", group: g.group, prio: Number.parseInt(g.prio ?? "0", 10) };
  return { kind: "all" };
}

export function specificityMatches(s: Specificity, meta: ClientMetadata): boolean {
  if (s.kind === "all") return true;
  if (s.kind === "host") return s.hostname === meta.hostname;
  return meta.groups.has(s.group);
}

function rank(s: Specificity): number {
  return s.kind === "host" ? 0 : s.kind === "group" ? 1 : 2;
}

/** Negative when a is more specific: host, then groups by descending priority, then all. */
export function compareSpecificity(a: Specificity, b: Specificity): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (a.kind === "group" && b.kind === "group") return b.prio - a.prio;
  return 0;
}

export function describeSpecificity(s: Specificity): string {
  if (s.kind === "all") return "all";
  if (s.kind === "host") return `Host ${s.hostname}`;
  return `Group ${s.group}, priority ${s.prio}`;
}

/**
 * The single most specific candidate that applies to the client: host > highest group
 * priority > plain. Two applicable candidates of equal specificity (e.g. two groups with the
 * same priority) are a conflict: upstream picks one by directory order; we refuse and name
 * both files. Returns undefined when nothing applies.
 */
export function bestMatching<T extends { spec: Specificity; path: string }>(
  candidates: T[],
  meta: ClientMetadata,
): T | undefined {
  // One pass, no copy: called for every entry of every build. The order is sort's (specificity, then path).
  let best: T | undefined;
  for (const c of candidates) if (specificityMatches(c.spec, meta) && (best === undefined || before(c, best))) best = c;
  if (best === undefined) return undefined;
  let second: T | undefined;
  for (const c of candidates) {
    if (c !== best && specificityMatches(c.spec, meta) && compareSpecificity(best.spec, c.spec) === 0 && (second === undefined || c.path < second.path)) second = c;
  }
  if (second) {
    throw new VacfgError(
      "REPO_FILE",
      `conflicting sources with the same specificity (${describeSpecificity(best.spec)}) for ${meta.hostname}: ${best.path} and ${second.path}`,
    );
  }
  return best;
}

/** Whether `a` sorts before `b`: more specific, then the smaller path. */
function before(a: { spec: Specificity; path: string }, b: { spec: Specificity; path: string }): boolean {
  const c = compareSpecificity(a.spec, b.spec);
  return c < 0 || (c === 0 && a.path < b.path);
}
