// Every `vacfg` subcommand's --help is complete: the whole commander tree is walked (so commands
// added later are held to it too) and every command, option and argument must say what it is for;
// every example under a --help must name a real command and only options that command has.
import { expect } from "chai";
import type { Command, Option } from "commander";
import { createProgram } from "../../cli/program.js";
import { examplesOf } from "../../cli/help.js";

/** Every command below the root with its path ("vm ttl"). */
function walk(cmd: Command, path: string[] = []): Array<{ path: string; cmd: Command }> {
  return cmd.commands.flatMap((c) => [{ path: [...path, c.name()].join(" "), cmd: c }, ...walk(c, [...path, c.name()])]);
}

const shown = (o: Option): boolean => !o.hidden;

describe("vacfg --help is complete", function () {
  const program = createProgram();
  const commands = walk(program);

  it("walks the whole command tree", function () {
    expect(commands.map((c) => c.path)).to.include.members(["server", "reports", "vm ttl", "attest sign", "demo cluster", "ctx assemble"]);
  });

  it("every command has a description", function () {
    const missing = commands.filter((c) => c.cmd.description().trim().length < 10).map((c) => c.path);
    expect(missing, `commands without a description: ${missing.join(", ")}`).to.deep.equal([]);
  });

  it("every option has a description", function () {
    const missing = commands.flatMap((c) => c.cmd.options.filter(shown).filter((o) => !o.description?.trim()).map((o) => `vacfg ${c.path} ${o.flags}`));
    expect(missing, `options without a description: ${missing.join("; ")}`).to.deep.equal([]);
  });

  it("every argument has a description", function () {
    const missing = commands.flatMap((c) => c.cmd.registeredArguments.filter((a) => !a.description?.trim()).map((a) => `vacfg ${c.path} <${a.name()}>`));
    expect(missing, `arguments without a description: ${missing.join("; ")}`).to.deep.equal([]);
  });

  it("every example runs a real command with options it has", function () {
    const problems: string[] = [];
    for (const c of commands) {
      for (const ex of examplesOf(c.cmd)) {
        const line = ex.replace(/\s+#.*$/, "");
        if (!line.startsWith(`vacfg ${c.path}`)) problems.push(`${c.path}: "${ex}" does not start with "vacfg ${c.path}"`);
        const flags = new Set(c.cmd.options.flatMap((o) => [o.short, o.long].filter((f): f is string => !!f)));
        for (const f of line.match(/(?<=\s)--?[A-Za-z][\w-]*/g) ?? []) {
          if (!flags.has(f) && f !== "--help") problems.push(`${c.path}: "${ex}" uses ${f}, which vacfg ${c.path} does not have`);
        }
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it("renders every command's help", function () {
    for (const c of commands) expect(c.cmd.helpInformation(), c.path).to.contain("Usage:");
  });
});
