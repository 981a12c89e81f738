// The lint checks by name (bcfg2-lint's plugin names where upstream has the check), each with the
// problem codes it reports and their default severity, and the switches that pick which run:
// [lint] plugins / --only, --enable, --disable, and [errors] CODE = error|warning|silent.
import type { CommentRules } from "./comments.js";

export type Severity = "error" | "warning";

export interface LintCheck {
  name: string;
  about: string;
  codes: Record<string, Severity>;
  /** Not run unless enabled by name. */
  optional?: boolean;
}

export const LINT_CHECKS: readonly LintCheck[] = [
  {
    name: "Validate",
    about: "well-formed XML, the schema for each file, xi:includes, file size",
    codes: { "repo-not-found": "error", "file-too-large": "error", "xml-failed-to-parse": "error", "xml-doctype": "error", "xml-failed-to-verify": "error", "xinclude-failed": "error" },
  },
  {
    name: "Templates",
    about: "Jinja2, Genshi and Cheetah templates compile with the server's engines",
    codes: { "jinja2-syntax-error": "error", "genshi-syntax-error": "error", "cheetah-syntax-error": "error", "unsupported-template": "error" },
  },
  {
    name: "Metadata",
    about: "groups and profiles: defined, declared once, one default profile; clients listed once",
    codes: {
      "undefined-group": "error",
      "nonexistent-profile-group": "error",
      "non-profile-set-as-profile": "error",
      "duplicate-group": "error",
      "duplicate-client": "error",
      "multiple-default-groups": "error",
      "default-is-not-profile": "error",
    },
  },
  { name: "Probes", about: "probe file names", codes: { "invalid-probe-name": "error" } },
  {
    name: "Bundler",
    about: "bundles named in groups.xml exist, bundle files are used, every bundle entry can be bound by a generator",
    codes: { "bundle-not-found": "error", "unused-bundle": "warning", "no-matching-generator": "error" },
  },
  {
    name: "RequiredAttrs",
    about: "Rules and Bound entries have the attributes their type needs, in the right format",
    codes: { "required-attrs-missing": "error", "required-attr-format": "error", "unknown-entry-type": "error" },
  },
  { name: "InfoXML", about: "info.xml Info elements: owner, group and a valid octal mode", codes: { "required-infoxml-attrs-missing": "error", "infoxml-attr-format": "error" } },
  { name: "ValidateJSON", about: "JSON Properties files parse", codes: { "json-failed-to-parse": "error" } },
  { name: "GroupNames", about: "group names have no white space", codes: { "invalid-group-name": "error" } },
  {
    name: "MergeFiles",
    about: "Cfg and Probes alternatives that are identical (error) or nearly so (warning, [MergeFiles] threshold %)",
    codes: { "identical-cfg": "error", "merge-cfg": "warning", "identical-probes": "error", "merge-probes": "warning" },
  },
  { name: "TemplateAbuse", about: "templates that are executable or scripts", codes: { "templated-executable": "warning", "templated-script": "warning" } },
  {
    name: "Comments",
    about: "required comments and keywords ([Comments] section); optional",
    codes: { "comments-not-found": "warning", "keywords-not-found": "warning" },
    optional: true,
  },
];

export function checkOfCode(code: string): LintCheck | undefined {
  return LINT_CHECKS.find((c) => code in c.codes);
}

/** How one lint run is configured (vacfg.conf and the command line, read by the CLI). */
export interface LintConfig {
  /** Names of the checks that run (default: every check that is not optional). */
  checks?: ReadonlySet<string>;
  /** Per-code severity overrides; "silent" drops the problem. */
  severities?: ReadonlyMap<string, Severity | "silent">;
  /** [rules] regex: Rules names are regexes. */
  rulesRegex?: boolean;
  /** [server] plugins without SSHbase: its key files bind nothing. */
  sshbase?: boolean;
  /** [server] plugins with Packages (default: when the repository has Packages/sources.xml): it binds every Package and the apt/yum config Paths. */
  packages?: boolean;
  /** [MergeFiles] threshold, 0..1 (default 0.75). */
  mergeThreshold?: number;
  comments?: CommentRules;
}

export function defaultChecks(): Set<string> {
  return new Set(LINT_CHECKS.filter((c) => !c.optional).map((c) => c.name));
}

/** Resolves a list of check names given by a user; an unknown name is an error naming the known ones. */
export function checkNames(list: string, where: string): string[] {
  const names = list.split(/[\s,]+/).filter(Boolean);
  for (const n of names) {
    if (!LINT_CHECKS.some((c) => c.name.toLowerCase() === n.toLowerCase())) {
      throw new Error(`${where}: unknown lint check "${n}" (known: ${LINT_CHECKS.map((c) => c.name).join(", ")})`);
    }
  }
  return names.map((n) => LINT_CHECKS.find((c) => c.name.toLowerCase() === n.toLowerCase())!.name);
}

export function severityOf(code: string, config: LintConfig): Severity | "silent" {
  return config.severities?.get(code) ?? checkOfCode(code)?.codes[code] ?? "error";
}
