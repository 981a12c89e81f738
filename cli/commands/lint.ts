// `vacfg lint`: validate every repository file against schemas/ and name file:line for each problem.
import type { Command } from "commander";
import { runLint } from "../../server/lint/index.js";

export function registerLint(program: Command): void {
  program
    .command("lint")
    .description("validate every repository file (XSDs in schemas/, templates, cross references)")
    .option("-r, --repo <dir>", "repository root", "repo")
    .action(async (opts: { repo: string }) => {
      process.exitCode = await runLint(opts.repo);
    });
}
