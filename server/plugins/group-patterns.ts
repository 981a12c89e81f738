// The "GroupPatterns" plugin (upstream Server/Plugins/GroupPatterns.py): GroupPatterns/config.xml
// adds groups to clients by name. <NamePattern> is a regex searched anywhere in the name, and
// `$1`…`$n` in a <Group> are replaced by its capture groups; <NameRange> is anchored at the start,
// with each `[[1-5,7,10-]]` matching digits that must fall in the packed range.
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import type { XmlElement } from "../../protocol/xml.js";
import { FileCache } from "../core/file-cache.js";
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { AnyPlugin, ConnectorRole } from "../core/roles.js";
import { parseRepoXml } from "./shared/xml-match.js";

/** One <NamePattern> or <NameRange> and the groups of its <GroupPattern>: groups for a name, or undefined. */
export type PatternMap = (name: string) => string[] | undefined;

const RANGE = /\[\[([\d\-,]+)\]\]/g;

/** Upstream's PackedDigitRange ("1-5,7,10-"): a membership test for non-negative integers. */
export function packedDigitRange(spec: string): (n: number) => boolean {
  const parts = spec.split(",").map((s) => s.trim());
  const num = (s: string): number => {
    if (!/^\d+$/.test(s)) throw new Error(`"${spec}" is not a digit range (like 1-5,7,10-)`);
    return Number(s);
  };
  const tests = parts.map((p): ((n: number) => boolean) => {
    if (p.endsWith("-")) {
      const lo = num(p.slice(0, -1));
      return (n) => n >= lo;
    }
    if (p.includes("-")) {
      const [lo, hi, ...rest] = p.split("-").map(num);
      if (rest.length) throw new Error(`"${spec}" is not a digit range (like 1-5,7,10-)`);
      return (n) => n >= lo && n <= hi;
    }
    const v = num(p);
    return (n) => n === v;
  });
  return (n) => tests.some((t) => t(n));
}

export function namePattern(pattern: string, groups: string[]): PatternMap {
  const re = new RegExp(pattern);
  return (name) => {
    const m = re.exec(name);
    if (!m) return undefined;
    const sub = m.slice(1);
    // As upstream: $1 is replaced before $2…, so "$10" is capture 1 followed by "0".
    return groups.map((g) => sub.reduce<string>((acc, s, i) => acc.split(`$${i + 1}`).join(s ?? ""), g));
  };
}

export function nameRange(range: string, groups: string[]): PatternMap {
  if (range.includes("\\")) throw new Error("Backslashes are not allowed in NameRanges");
  const re = new RegExp("^" + range.replace(RANGE, "(\\d+)"));
  const ranges = [...range.matchAll(RANGE)].map((m) => packedDigitRange(m[1]));
  return (name) => {
    const m = re.exec(name);
    if (!m) return undefined;
    return m.slice(1).every((d, i) => ranges[i](Number(d))) ? groups : undefined;
  };
}

/** Every <GroupPattern> at any depth (upstream's //GroupPattern), in document order. */
function groupPatterns(e: XmlElement): XmlElement[] {
  return e.children.flatMap((c) => (c.tag === "GroupPattern" ? [c] : groupPatterns(c)));
}

/** Parses config.xml; a pattern that does not compile is reported through `bad` and skipped, as upstream. */
export function parsePatternFile(text: string, path: string, bad: (msg: string) => void = () => undefined): PatternMap[] {
  const root = parseRepoXml(text, path);
  if (root.tag !== "GroupPatterns") {
    throw new VacfgError("REPO_FILE", `${path}:${root.line ?? 1}: root element is <${root.tag}>, expected <GroupPatterns>`);
  }
  const out: PatternMap[] = [];
  for (const gp of groupPatterns(root)) {
    const groups = gp.children.filter((c) => c.tag === "Group").map((c) => c.text ?? "");
    for (const c of gp.children) {
      if (c.tag !== "NamePattern" && c.tag !== "NameRange") continue;
      try {
        out.push(c.tag === "NamePattern" ? namePattern(c.text ?? "", groups) : nameRange(c.text ?? "", groups));
      } catch (e) {
        // As upstream, the failure also drops the rest of this <GroupPattern>.
        bad(`${path}:${c.line ?? 0}: <${c.tag}>${c.text ?? ""}</${c.tag}> unusable: ${(e as Error).message}`);
        break;
      }
    }
  }
  return out;
}

export class GroupPatternsPlugin implements AnyPlugin, ConnectorRole {
  readonly name = "GroupPatterns";
  private readonly patterns: FileCache<PatternMap[]>;
  constructor(private readonly ctx: PluginContext) {
    this.patterns = new FileCache((text, path) => parsePatternFile(text, path, (msg) => ctx.logger.error(`GroupPatterns: ${msg}`)));
  }

  async additionalGroups(client: string): Promise<string[]> {
    let maps: PatternMap[] | undefined;
    try {
      maps = this.patterns.get(join(this.ctx.settings.repo, "GroupPatterns", "config.xml"));
    } catch (e) {
      this.ctx.logger.error({ err: (e as Error).message }, "GroupPatterns: config.xml unusable");
      return [];
    }
    return (maps ?? []).flatMap((m) => m(client) ?? []);
  }
}

export const groupPatternsPlugin: PluginFactory = (ctx) => new GroupPatternsPlugin(ctx);
