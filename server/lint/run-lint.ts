// runLint: the `vacfg lint` command's body: lint, print `file:line: message` lines and the
// "N errors, M warnings" summary, and turn the result into an exit code (1 on errors, so a
// repository's CI can gate on it; warnings alone exit 0).
import { join } from "node:path";
import { lintRepository, type LintOptions } from "./lint-repository.js";
import { formatProblem } from "./problem.js";

export interface RunLintOptions extends LintOptions {
  /** Where lines go (default: process.stdout). */
  write?: (line: string) => void;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** Resolves to 0 when lint found no errors (warnings allowed), 1 when it found errors. */
export async function runLint(repoDir: string, opts: RunLintOptions = {}): Promise<number> {
  const write = opts.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const problems = await lintRepository(repoDir, opts);
  for (const p of problems) {
    // Paths are printed as the user can open them: the repository folder they gave, joined.
    write(formatProblem(p.code === "repo-not-found" ? p : { ...p, file: join(repoDir, p.file) }));
  }
  const errors = problems.filter((p) => p.severity !== "warning").length;
  write(`${count(errors, "error")}, ${count(problems.length - errors, "warning")}`);
  return errors === 0 ? 0 : 1;
}
