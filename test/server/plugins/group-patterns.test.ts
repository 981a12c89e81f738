// GroupPatterns on a real Core: groups from NamePattern (with $n substitution) and NameRange,
// as upstream's GroupPatterns.py computes them, and the bundles those groups bring.
import { expect } from "chai";
import { nameRange, packedDigitRange } from "../../../server/plugins/group-patterns.js";
import { harness, type Harness } from "../core/harness.js";
import { GROUP_PATTERNS_REPO } from "../core/fixture-repo.js";

describe("GroupPatterns plugin", () => {
  let h: Harness;
  before(async () => {
    h = await harness(GROUP_PATTERNS_REPO); // the harness lists GroupPatterns among its plugins
  });
  after(async () => h.cleanup());

  const groups = async (c: string) => [...(await h.core.buildMetadata(c)).groups].sort();

  it("adds regex groups with $1/$2 substitution and range groups", async () => {
    expect(await groups("web12.lab")).to.include.members(["rack-12", "web", "site-lab", "small-nodes"]);
    expect(await groups("node7")).to.include.members(["small-nodes", "node"]);
    expect(await groups("node7")).to.not.include("big-nodes");
    expect(await groups("node40x")).to.include.members(["big-nodes"]); // NameRange anchors only at the start
    expect(await groups("node33")).to.not.include.members(["small-nodes"]);
    expect(await groups("db1")).to.not.include.members(["web", "small-nodes", "big-nodes"]);
  });

  it("the groups bring their bundles into GetConfig", async () => {
    expect(await h.core.getConfig("node7")).to.include('name="nodepkg"');
    expect(await h.core.getConfig("db1")).to.not.include('name="nodepkg"');
  });

  it("NameRange and PackedDigitRange follow upstream", () => {
    const r = packedDigitRange("1-5,7, 10-");
    expect([0, 1, 5, 6, 7, 9, 10, 99].map(r)).to.deep.equal([false, true, true, false, true, false, true, true]);
    expect(() => packedDigitRange("a-b")).to.throw(/not a digit range/);
    expect(() => nameRange("n\\d[[1]]", ["x"])).to.throw(/Backslashes/);
    expect(nameRange("r[[1-2]]n[[3]]", ["g"])("r2n3")).to.deep.equal(["g"]);
    expect(nameRange("r[[1-2]]n[[3]]", ["g"])("r3n3")).to.equal(undefined);
  });
});
