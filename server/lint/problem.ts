// What lint reports: one problem per file:line, with a stable check code, and the
// `file:line: message` text form the CLI prints.
import type { Severity } from "./checks.js";

export interface LintProblem {
  /** Path relative to the repository root, with forward slashes (e.g. "Metadata/groups.xml"). */
  file: string;
  /** 1-based line; 0 when the problem concerns the file as a whole. */
  line: number;
  message: string;
  /** error or warning (checks.ts, [errors] in vacfg.conf); set by lintRepository. */
  severity?: Severity;
  /**
   * Stable check code.  Where upstream bcfg2-lint has the same check we use its name
   * (xml-failed-to-parse, xml-failed-to-verify, jinja2-syntax-error, bundle-not-found,
   * nonexistent-profile-group, ...), so admins who know bcfg2-lint recognise them.
   */
  code: LintCode;
}

export type LintCode =
  | "repo-not-found"
  | "file-too-large"
  | "xml-failed-to-parse"
  | "xml-doctype"
  | "xml-failed-to-verify"
  | "jinja2-syntax-error"
  | "genshi-syntax-error"
  | "cheetah-syntax-error"
  | "unsupported-template"
  | "xinclude-failed"
  | "bundle-not-found"
  | "invalid-client-name"
  | "undefined-group"
  | "nonexistent-profile-group"
  | "non-profile-set-as-profile"
  | "duplicate-group"
  | "duplicate-client"
  | "multiple-default-groups"
  | "default-is-not-profile"
  | "invalid-probe-name"
  | "unused-bundle"
  | "no-matching-generator"
  | "required-attrs-missing"
  | "required-attr-format"
  | "unknown-entry-type"
  | "required-infoxml-attrs-missing"
  | "infoxml-attr-format"
  | "json-failed-to-parse"
  | "invalid-group-name"
  | "identical-cfg"
  | "merge-cfg"
  | "identical-probes"
  | "merge-probes"
  | "templated-executable"
  | "templated-script"
  | "comments-not-found"
  | "keywords-not-found";

export function problem(file: string, line: number | undefined, code: LintCode, message: string): LintProblem {
  return { file, line: line ?? 0, code, message };
}

/** Stable order for output and tests: by file, then line, then code. */
export function sortProblems(list: LintProblem[]): LintProblem[] {
  return [...list].sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}

export function formatProblem(p: LintProblem, prefix = ""): string {
  return `${prefix}${p.file}:${p.line}: ${p.severity === "warning" ? "warning: " : ""}${p.message} [${p.code}]`;
}
