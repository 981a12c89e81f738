// Worked examples under a command's --help ("Examples:" after the option list), kept with the
// command so that cli/reference-docs.ts prints the same lines and the help test can check that each
// example names only commands and options that exist.
import type { Command } from "commander";

const EXAMPLES = new WeakMap<Command, string[]>();

/** Adds example command lines (a `# comment` may follow one) to cmd's help; returns cmd. */
export function withExamples(cmd: Command, examples: string[]): Command {
  EXAMPLES.set(cmd, [...(EXAMPLES.get(cmd) ?? []), ...examples]);
  cmd.addHelpText("after", () => `\nExamples:\n${(EXAMPLES.get(cmd) ?? []).map((e) => `  ${e}`).join("\n")}\n`);
  return cmd;
}

export function examplesOf(cmd: Command): string[] {
  return EXAMPLES.get(cmd) ?? [];
}
