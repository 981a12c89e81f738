// `vacfg lint`: check a repository (server/lint/), bcfg2-lint's checks and switches: -c vacfg.conf
// ([server] repository and plugins, [rules] regex, [lint] plugins, [errors], [MergeFiles],
// [Comments]), --only/--enable/--disable CHECKS, --list-checks; exit 1 on errors.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { parseIni } from "../../lib/ini.js";
import { LINT_CHECKS, checkNames, defaultChecks, type LintConfig, type Severity } from "../../server/lint/checks.js";
import type { CommentKind, CommentRules } from "../../server/lint/comments.js";
import { runLint } from "../../server/lint/index.js";

interface LintCliOptions {
  repo?: string;
  config?: string;
  only?: string;
  enable?: string;
  disable?: string;
  listChecks?: boolean;
}

const list = (v: string) => v.split(/[\s,]+/).filter(Boolean);
const TRUE = new Set(["1", "yes", "true", "on"]);

/** The lint settings of a vacfg.conf (bcfg2.conf's section names), and its repository. */
function readConfigFile(path: string): { repo?: string; config: LintConfig } {
  const ini = parseIni(readFileSync(path, "utf8"), path);
  const get = (s: string, k: string) => ini.get(s)?.get(k);
  const config: LintConfig = {};
  const plugins = get("lint", "plugins");
  if (plugins) config.checks = new Set(checkNames(plugins.value, `${path}:${plugins.line} [lint] plugins`));
  const severities = new Map<string, Severity | "silent">();
  for (const [code, v] of ini.get("errors") ?? []) {
    if (!["error", "warning", "silent"].includes(v.value)) throw new Error(`${path}:${v.line}: [errors] ${code} must be error, warning or silent, not "${v.value}"`);
    severities.set(code, v.value as Severity | "silent");
  }
  config.severities = severities;
  config.rulesRegex = TRUE.has((get("rules", "regex")?.value ?? "").toLowerCase());
  const serverPlugins = get("server", "plugins");
  if (serverPlugins) config.sshbase = list(serverPlugins.value).includes("SSHbase");
  if (serverPlugins) config.packages = list(serverPlugins.value).includes("Packages");
  const threshold = get("MergeFiles", "threshold");
  if (threshold) {
    const n = Number(threshold.value);
    if (!(n >= 0 && n <= 100)) throw new Error(`${path}:${threshold.line}: [MergeFiles] threshold must be a percentage from 0 to 100`);
    config.mergeThreshold = n / 100;
  }
  const comments: CommentRules = { comments: new Map(), keywords: new Map() };
  for (const [key, v] of ini.get("Comments") ?? []) {
    const m = /^(.+)_(comments|keywords)$/.exec(key);
    if (!m) throw new Error(`${path}:${v.line}: [Comments] ${key} is not KIND_comments or KIND_keywords`);
    comments[m[2] as "comments" | "keywords"].set(m[1] as CommentKind | "global", list(v.value));
  }
  config.comments = comments;
  const repo = get("server", "repository");
  return { repo: repo ? resolve(dirname(resolve(path)), repo.value) : undefined, config };
}

export function registerLint(program: Command): void {
  const cmd = program
    .command("lint")
    .description("check a repository as bcfg2-lint does: schemas, templates, references, required attributes, … (exit 1 on errors)")
    .option("-r, --repo <dir>", "repository root (default: [server] repository with -c, else repo)")
    .option("-c, --config <file>", "vacfg.conf: [lint] plugins, [errors] CODE = error|warning|silent, [MergeFiles] threshold, [Comments], [rules] regex")
    .option("--only <checks>", "run only these checks (comma-separated names, see --list-checks)")
    .option("--enable <checks>", "also run these checks (e.g. Comments)")
    .option("--disable <checks>", "do not run these checks")
    .option("--list-checks", "list the checks, the codes each reports and their severity")
    .action(async (opts: LintCliOptions) => {
      if (opts.listChecks) {
        for (const c of LINT_CHECKS) {
          process.stdout.write(`${c.name}${c.optional ? " (optional)" : ""}: ${c.about}\n`);
          for (const [code, sev] of Object.entries(c.codes)) process.stdout.write(`  ${code.padEnd(34)} ${sev}\n`);
        }
        return;
      }
      const fromFile = opts.config ? readConfigFile(opts.config) : { config: {} as LintConfig };
      const config = fromFile.config;
      const checks = new Set(opts.only ? checkNames(opts.only, "--only") : (config.checks ?? defaultChecks()));
      if (opts.enable) for (const n of checkNames(opts.enable, "--enable")) checks.add(n);
      if (opts.disable) for (const n of checkNames(opts.disable, "--disable")) checks.delete(n);
      config.checks = checks;
      process.exitCode = await runLint(opts.repo ?? fromFile.repo ?? "repo", { config });
    });
  withExamples(cmd, [
    "vacfg lint -c site/vacfg.conf                # the repository vacfg.conf names, with its [lint] and [errors] settings",
    "vacfg lint -r repo --only Validate,Bundler   # two checks only",
    "vacfg lint -r repo --enable Comments         # also the optional Comments check",
    "vacfg lint --list-checks                     # every check, its codes and their severity",
  ]);
}
