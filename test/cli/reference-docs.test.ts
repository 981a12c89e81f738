// docs/cli.md and docs/errors.md are generated from the code (cli/reference-docs.ts): the committed
// files must be what `npm run docs` writes today, so a new command, option or error code (or a
// changed description) fails here until the docs are regenerated.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { helpText, renderCliReference, renderErrorCatalogue } from "../../cli/reference-docs.js";
import { createProgram } from "../../cli/program.js";
import { ERRORS } from "../../protocol/errors.js";
import { USAGE } from "../../agent/options.js";
import { projectRoot } from "../support/paths.js";

const committed = (file: string): string => readFileSync(join(projectRoot, file), "utf8");

describe("generated reference docs", function () {
  it("docs/cli.md is every command's --help as the code prints it (run npm run docs after a change)", function () {
    const text = renderCliReference();
    expect(committed("docs/cli.md") === text, "docs/cli.md is out of date: run `npm run docs` and commit it").to.equal(true);
    const program = createProgram();
    const lint = program.commands.find((c) => c.name() === "lint")!;
    expect(text).to.contain(helpText(lint));
    expect(text).to.contain(USAGE);
    // No path of this checkout leaks into the reference (defaults are described, not printed).
    expect(text).not.to.contain(projectRoot);
  });

  it("docs/errors.md lists every code of the catalogue (run npm run docs after a change)", function () {
    const text = renderErrorCatalogue();
    expect(committed("docs/errors.md") === text, "docs/errors.md is out of date: run `npm run docs` and commit it").to.equal(true);
    for (const code of Object.keys(ERRORS)) expect(text).to.contain(`| \`${code}\` |`);
  });
});
