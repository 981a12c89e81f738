// vacfg(1) is generated from the command tree (cli/man-page.ts): the committed docs/vacfg.1 must be what
// `npm run docs` writes today, and man must render it without a warning, every command and option in it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { Command } from "commander";
import { renderManPage, roffText } from "../../cli/man-page.js";
import { createProgram } from "../../cli/program.js";
import { projectRoot } from "../support/paths.js";
import { renderMan } from "../support/render-man.js";

const PAGE = join(projectRoot, "docs/vacfg.1");

function commandPaths(cmd: Command, path = "vacfg"): string[] {
  return cmd.commands.flatMap((c) => [`${path} ${c.name()}`, ...commandPaths(c, `${path} ${c.name()}`)]);
}

describe("the manual page vacfg(1)", function () {
  this.timeout(180_000);

  it("docs/vacfg.1 is what the command tree generates (run npm run docs after a change)", function () {
    const page = readFileSync(PAGE, "utf8");
    expect(page === renderManPage(), "docs/vacfg.1 is out of date: run `npm run docs` and commit it").to.equal(true);
    // ASCII only (others as \[uXXXX]): groff does not assume UTF-8 input.
    expect(/^[\x00-\x7f]*$/.test(page)).to.equal(true);
  });

  it("fails the check above when a command changes: a new option shows in the page", function () {
    const program = createProgram();
    program.commands.find((c) => c.name() === "lint")!.option("--brand-new-flag", "an option added after the page was written");
    const changed = renderManPage(program);
    expect(changed).not.to.equal(readFileSync(PAGE, "utf8"));
    expect(changed).to.contain("\\-\\-brand\\-new\\-flag");
  });

  it("renders without a warning, with every command, its options and its examples", function () {
    const { text, warnings, tool } = renderMan(PAGE);
    expect(warnings, `${tool} warned`).to.equal("");
    expect(text).to.match(/^VACFG\(1\)/);
    for (const section of ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT", "EXIT STATUS", "SEE ALSO"]) expect(text).to.match(new RegExp(`^${section}$`, "m"));
    const program = createProgram();
    for (const path of commandPaths(program)) expect(text, path).to.match(new RegExp(`^ {3}${path} `, "m"));
    const lint = program.commands.find((c) => c.name() === "lint")!;
    // Options as ASCII hyphens (copied from the page they must work), each with its description.
    for (const o of lint.options) {
      expect(text).to.contain(o.flags);
      expect(text.replace(/\s+/g, " ")).to.contain(o.description.replace(/\s+/g, " "));
    }
    expect(text).to.contain("vacfg lint -r repo --only Validate,Bundler");
    // The agent's own option table (it parses bcfg2's options itself).
    expect(text).to.contain("--local REPO");
  });

  it("escapes what roff would read as requests or escapes", function () {
    expect(roffText(".hidden request")).to.equal("\\&.hidden request");
    expect(roffText("'quote")).to.equal("\\&'quote");
    expect(roffText("C:\\path -x")).to.equal("C:\\epath \\-x");
    expect(roffText("a × b — c")).to.equal("a \\[u00D7] b \\[u2014] c");
  });
});
