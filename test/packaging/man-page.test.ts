// The `vacfg` package's manual page: docs/vacfg.1 as /usr/share/man/man1/vacfg.1.gz, gzip -9n (no
// name, no time stamp), which man reads as it would once installed.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { expect } from "chai";
import { MAN_PAGE_PATH, stageManPage } from "../../packaging/man-page.js";
import { projectRoot } from "../support/paths.js";
import { renderMan } from "../support/render-man.js";

describe("packaging: the manual page", function () {
  this.timeout(180_000);
  let root: string;
  before(() => (root = mkdtempSync(join(tmpdir(), "vacfg-man-"))));
  after(() => rmSync(root, { recursive: true, force: true }));

  it("stages docs/vacfg.1 as usr/share/man/man1/vacfg.1.gz, compressed as gzip -9n, readable by man", async function () {
    const staged = await stageManPage(projectRoot, root);
    expect(staged).to.equal(join(root, MAN_PAGE_PATH));
    const gz = readFileSync(staged);
    // gzip header: no file name (FLG 0), no time stamp (MTIME 0), maximum compression (XFL 2).
    expect([...gz.subarray(0, 4)]).to.deep.equal([0x1f, 0x8b, 8, 0]);
    expect(gz.readUInt32LE(4)).to.equal(0);
    expect(gz[8]).to.equal(2);
    expect(gunzipSync(gz).toString("utf8")).to.equal(readFileSync(join(projectRoot, "docs/vacfg.1"), "utf8"));
    // The same bytes every time: a rebuilt package is identical.
    const again = await stageManPage(projectRoot, join(root, "again"));
    expect(readFileSync(again).equals(gz)).to.equal(true);
    const { text, warnings } = renderMan(staged);
    expect(warnings).to.equal("");
    expect(text).to.contain("vacfg lint");
  });
});
