// Every `vacfg` subcommand's --help is complete: the whole commander tree is walked (so commands
// added later are held to it too) and every command, option and argument must say what it is for;
// every example under a --help must name a real command and only options that command has.
import { expect } from "chai";
import type { Command, Option } from "commander";
import { hostname } from "node:os";
import { createProgram } from "../../cli/program.js";
import { projectRoot } from "../support/paths.js";
import { examplesOf } from "../../cli/help.js";
import { AGENT_FLAGS, parseAgentArgs, USAGE } from "../../agent/options.js";

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

  it("shows no default that depends on the machine (this host's name, this checkout's path)", function () {
    const problems = commands.flatMap((c) =>
      c.cmd.options
        .filter((o) => o.defaultValueDescription === undefined && typeof o.defaultValue === "string")
        .filter((o) => o.defaultValue === hostname() || (o.defaultValue as string).startsWith(projectRoot))
        .map((o) => `vacfg ${c.path} ${o.flags}: default "${String(o.defaultValue)}" (describe it: new Option(…).default(value, "what it is"))`),
    );
    expect(problems).to.deep.equal([]);
  });

  it("renders every command's help", function () {
    for (const c of commands) expect(c.cmd.helpInformation(), c.path).to.contain("Usage:");
  });

  // `vacfg agent` parses bcfg2's options itself (commander passes them through): its own table.
  it("every agent option is described, listed by vacfg agent --help and understood", function () {
    const problems: string[] = [];
    const lines = USAGE.split("\n");
    for (const f of AGENT_FLAGS) {
      if (f.help.trim().length < 5) problems.push(`${f.flags.join(", ")}: no description`);
      if (!lines.some((l) => l.trimStart().startsWith(`${f.flags.join(", ")}${f.value ? ` ${f.value}` : ""} `) && l.includes(f.help))) problems.push(`${f.flags.join(", ")}: not in the usage`);
      if (f.flags[0] === "-h" || f.flags[0] === "-C") continue;
      for (const flag of f.flags) {
        const argv = [flag, ...(f.value ? [flag === "-l" || flag === "--decision" ? "none" : flag === "-r" || flag === "--remove" ? "all" : "1"] : []), "-C", "/dev/null"];
        try {
          parseAgentArgs(argv);
        } catch (e) {
          problems.push(`${flag}: refused: ${(e as Error).message}`);
        }
      }
    }
    expect(problems).to.deep.equal([]);
    expect(parseAgentArgs(["--help"])).to.equal("help");
    expect(() => parseAgentArgs(["--no-such-option", "-C", "/dev/null"])).to.throw(/unknown option --no-such-option/);
  });
});
