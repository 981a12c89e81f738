// runLint: the `vacfg lint` command's body: lint, print `file:line: message` lines,
// and turn the result into an exit code.
import { join } from "node:path";
import { lintRepository, type LintOptions } from "./lint-repository.js";
import { formatProblem } from "./problem.js";

export interface RunLintOptions extends LintOptions {
  /** Where lines go (default: process.stdout). */
  write?: (line: string) => void;
}

/** Resolves to 0 when the repository is clean, 1 when lint found problems. */
export async function runLint(repoDir: string, opts: RunLintOptions = {}): Promise<number> {
  const write = opts.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const problems = await lintRepository(repoDir, opts);
  for (const p of problems) {
    // Paths are printed as the user can open them: the repository folder they gave, joined.
    write(formatProblem(p.code === "repo-not-found" ? p : { ...p, file: join(repoDir, p.file) }));
  }
  return problems.length === 0 ? 0 : 1;
}
