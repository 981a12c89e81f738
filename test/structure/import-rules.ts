// Reads the project's import graph and the "May import:" rule of each folder README, and lists
// every import that breaks the rule of the folder it is made from. The rule that governs a file is
// the one in the nearest README above it; imports inside that README's own folder are always
// allowed, and so are npm packages and node built-ins (except where a rule says "no packages").
//
// Rule syntax (one line of the README):
//   May import: `protocol/`, `server/core/`, `server/plugins/registry.ts`.
//   May import: every folder except `test/`, `bench/`.
//   May import: nothing of ours.
// Paths are relative to the project root; `../x/` forms are relative to the README's folder.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, posix, relative, resolve } from "node:path";

export interface ImportRule {
  /** Folder the rule governs, relative to the root with a trailing slash ("" for the root). */
  folder: string;
  readme: string;
  /** Allowed targets: folder prefixes ("x/") or files ("x/y.ts"); "*" = every folder. */
  allow: string[];
  except: string[];
}

export interface Violation {
  file: string;
  line: number;
  target: string;
  rule: ImportRule;
}

const SKIP = new Set(["node_modules", "dist", ".git"]);

function walk(root: string, rel: string, out: string[]): void {
  for (const name of readdirSync(join(root, rel)).sort()) {
    if (SKIP.has(name) || name.startsWith(".")) continue;
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(join(root, r)).isDirectory()) walk(root, r, out);
    else out.push(r);
  }
}

/** The rule line of one README, or undefined when it states none. */
export function parseRule(root: string, readmeRel: string): ImportRule | undefined {
  const text = readFileSync(join(root, readmeRel), "utf8");
  const m = /^May import:(.*)$/m.exec(text);
  if (!m) return undefined;
  const folder = posix.dirname(readmeRel) === "." ? "" : `${posix.dirname(readmeRel)}/`;
  const body = m[1]!;
  const [allowPart, exceptPart = ""] = body.split(/\bexcept\b/);
  const paths = (s: string): string[] =>
    [...s.matchAll(/`([^`]+)`/g)].map((x) => {
      const p = x[1]!;
      return p.startsWith("../") || p.startsWith("./") ? posix.normalize(posix.join(folder, p)) + (p.endsWith("/") ? "/" : "") : p;
    });
  const allow = /\bevery folder\b/.test(allowPart!) ? ["*"] : paths(allowPart!);
  return { folder, readme: readmeRel, allow, except: paths(exceptPart) };
}

export function loadRules(root: string): ImportRule[] {
  const files: string[] = [];
  walk(root, "", files);
  return files
    .filter((f) => posix.basename(f) === "README.md")
    .map((f) => parseRule(root, f))
    .filter((r): r is ImportRule => r !== undefined);
}

function governing(rules: ImportRule[], file: string): ImportRule | undefined {
  return rules.filter((r) => file.startsWith(r.folder)).sort((a, b) => b.folder.length - a.folder.length)[0];
}

function matches(target: string, p: string): boolean {
  return p.endsWith("/") ? target.startsWith(p) : target === p || target === `${p}.ts` || target.startsWith(`${p}/`);
}

function allowed(rule: ImportRule, target: string): boolean {
  if (target.startsWith(rule.folder) && rule.folder !== "") return true;
  if (rule.except.some((p) => matches(target, p))) return false;
  return rule.allow.includes("*") || rule.allow.some((p) => matches(target, p));
}

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s+["']([^"']+)["']/gm;

/** Every relative import of every .ts file under root (tests included), resolved to project paths. */
export function importGraph(root: string): { file: string; line: number; target: string }[] {
  const files: string[] = [];
  walk(root, "", files);
  const out: { file: string; line: number; target: string }[] = [];
  for (const file of files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))) {
    const src = readFileSync(join(root, file), "utf8");
    for (const m of src.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (!spec.startsWith(".")) continue;
      const abs = resolve(root, dirname(file), spec.replace(/\.js$/, ".ts"));
      const target = relative(root, abs).split("\\").join("/");
      const line = src.slice(0, m.index).split("\n").length + (m[0].startsWith("\n") ? 1 : 0);
      out.push({ file, line, target: existsSync(abs) ? target : target });
    }
  }
  return out;
}

export function checkImportRules(root: string): Violation[] {
  const rules = loadRules(root);
  const out: Violation[] = [];
  for (const edge of importGraph(root)) {
    const rule = governing(rules, edge.file);
    if (rule && !allowed(rule, edge.target)) out.push({ ...edge, rule });
  }
  return out;
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}: imports ${v.target}, which ${v.rule.readme} does not allow`;
}
