// The `vacfg` command tree (commander), built without running it: cli/vacfg.ts parses argv with
// it, and the help test and the reference generator (cli/reference-docs.ts) walk it.
import { Command } from "commander";
import { registerCommands } from "./commands/index.js";

export function createProgram(): Command {
  const program = new Command();
  program.name("vacfg").description("Bcfg2-compatible configuration for virtual appliances").version("0.1.0");
  // `vacfg agent -n …`: options after a subcommand belong to it (the agent parses bcfg2's own).
  program.enablePositionalOptions();
  registerCommands(program);
  return program;
}
