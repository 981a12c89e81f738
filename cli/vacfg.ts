#!/usr/bin/env node
// The one `vacfg` command: each subcommand lives in cli/commands/ and registers itself here.
import { Command } from "commander";
import { registerCommands } from "./commands/index.js";

const program = new Command();
program.name("vacfg").description("Bcfg2-compatible configuration for virtual appliances").version("0.1.0");
// `vacfg agent -n …`: options after a subcommand belong to it (the agent parses bcfg2's own).
program.enablePositionalOptions();
registerCommands(program);
program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = e as { code?: string; exitCode?: number; message?: string };
  if (err.code?.startsWith("commander.")) process.exit(err.exitCode ?? 2);
  console.error(`vacfg: ${err.message ?? String(e)}`);
  process.exit(1);
}
