// bcfg2-lint's Comments: files that must carry given comments (e.g. "Maintainer:") or version
// keywords (e.g. $Id$). Nothing is required unless the [Comments] section of vacfg.conf says so:
// global_comments / global_keywords, and <kind>_comments / <kind>_keywords per kind of file.
import { problem, type LintProblem } from "./problem.js";

export type CommentKind = "bundler" | "properties" | "cfg" | "jinja2" | "genshi" | "cheetah" | "infoxml" | "probes" | "metadata";

export interface CommentRules {
  comments: Map<CommentKind | "global", string[]>;
  keywords: Map<CommentKind | "global", string[]>;
}

export function kindOf(file: string): CommentKind | undefined {
  if (/^Bundler\/[^/]+\.xml$/.test(file)) return "bundler";
  if (/^Properties\//.test(file)) return "properties";
  if (/^Metadata\/.+\.xml$/.test(file)) return "metadata";
  if (/^Probes\/[^/]+$/.test(file)) return "probes";
  if (/^Cfg\/.+\/(info\.xml|:info)$/.test(file)) return "infoxml";
  if (/^Cfg\/.+\.jinja2$/.test(file)) return "jinja2";
  if (/^Cfg\/.+\.genshi$/.test(file)) return "genshi";
  if (/^Cfg\/.+\.cheetah$/.test(file)) return "cheetah";
  if (/^Cfg\//.test(file)) return "cfg";
  return undefined;
}

/** The comments of a file in its own syntax (XML comments; {# #}; ## lines; # lines). */
function commentsOf(kind: CommentKind, src: string): string[] {
  if (/\.xml$|^<|infoxml|bundler|metadata/.test(kind) || src.trimStart().startsWith("<")) {
    return [...src.matchAll(/<!--([\s\S]*?)-->/g)].map((m) => m[1]!);
  }
  if (kind === "jinja2") return [...src.matchAll(/\{#([\s\S]*?)#\}/g)].map((m) => m[1]!);
  if (kind === "genshi" || kind === "cheetah") return [...src.matchAll(/^\s*##(.*)$/gm)].map((m) => m[1]!);
  return [...src.matchAll(/^\s*#(.*)$/gm)].map((m) => m[1]!);
}

export function checkComments(file: string, src: string, rules: CommentRules): LintProblem[] {
  const kind = kindOf(file);
  if (!kind) return [];
  const out: LintProblem[] = [];
  const wanted = [...(rules.comments.get("global") ?? []), ...(rules.comments.get(kind) ?? [])];
  const keywords = [...(rules.keywords.get("global") ?? []), ...(rules.keywords.get(kind) ?? [])];
  if (wanted.length) {
    const comments = commentsOf(kind, src).map((c) => c.toLowerCase());
    for (const w of wanted) {
      if (!comments.some((c) => c.includes(w.toLowerCase()))) out.push(problem(file, 0, "comments-not-found", `no comment containing "${w}" ([Comments] ${kind}_comments or global_comments)`));
    }
  }
  for (const k of keywords) {
    if (!new RegExp(`\\$${k.replace(/[^A-Za-z0-9]/g, "")}(:[^$]*)?\\$`).test(src)) out.push(problem(file, 0, "keywords-not-found", `no $${k}$ keyword ([Comments] ${kind}_keywords or global_keywords)`));
  }
  return out;
}
