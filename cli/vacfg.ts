#!/usr/bin/env node
// The one `vacfg` command: the tree is built in program.ts (each subcommand in cli/commands/).
import { createProgram } from "./program.js";

const program = createProgram();
program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = e as { code?: string; exitCode?: number; message?: string };
  if (err.code?.startsWith("commander.")) process.exit(err.exitCode ?? 2);
  console.error(`vacfg: ${err.message ?? String(e)}`);
  process.exit(1);
}
