// The "May import:" rule in each folder README holds for every import in the tree, and the
// checker really fails when a rule is broken (checked on a small tree made for the purpose).
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { projectRoot } from "../support/paths.js";
import { checkImportRules, formatViolation, loadRules } from "./import-rules.js";

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "vacfg-import-rules-"));
  for (const [p, body] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), body);
  }
  return root;
}

describe("structure: folder import rules", () => {
  it("every import in the project keeps the rule of the README above it", () => {
    expect(loadRules(projectRoot).length).to.be.greaterThan(10);
    expect(checkImportRules(projectRoot).map(formatViolation)).to.deep.equal([]);
  });

  it("names the file, line and README when a rule is broken on purpose", () => {
    const root = tree({
      "protocol/README.md": "# protocol\nMay import: nothing of ours.\n",
      "protocol/a.ts": 'import { x } from "./b.js";\nimport { y } from "../server/core/y.js";\nexport const a = x + y;\n',
      "protocol/b.ts": "export const x = 1;\n",
      "server/README.md": "May import: `protocol/`.\n",
      "server/core/y.ts": 'import { a } from "../../protocol/a.js";\nexport const y = a;\n',
      "server/core/z.ts": 'export { y } from "./y.js";\nconst m = await import("../../cli/m.js");\n',
      "cli/README.md": "May import: every folder except `test/`.\n",
      "cli/m.ts": 'import "../server/core/y.js";\nimport { t } from "../test/t.js";\n',
    });
    try {
      expect(checkImportRules(root).map(formatViolation)).to.deep.equal([
        "cli/m.ts:2: imports test/t.ts, which cli/README.md does not allow",
        "protocol/a.ts:2: imports server/core/y.ts, which protocol/README.md does not allow",
        "server/core/z.ts:2: imports cli/m.ts, which server/README.md does not allow",
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
