// The index reader and the closure as data: upstream's AptSource.read_files quirks and
// Collection.complete's choices, on hand-written Packages text.
import { expect } from "chai";
import { readIndexes } from "../../../../server/plugins/packages/apt-index.js";
import { AptCollection } from "../../../../server/plugins/packages/collection.js";
import { parseSources, sourceApplies } from "../../../../server/plugins/packages/sources.js";
import { parseXml } from "../../../../protocol/xml.js";
import type { ClientMetadata } from "../../../../server/core/metadata.js";

const meta = (groups: string[], hostname = "c1"): ClientMetadata =>
  ({ hostname, profile: "p", groups: new Set(groups), bundles: new Set(), aliases: new Set(), addresses: new Set(), categories: new Map(), connectors: {} }) as ClientMetadata;

const stanza = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join("\n") + "\n\n";

const AMD64 = [
  stanza({ Package: "app", Version: "1", "Pre-Depends": "a | b", Depends: "c (>= 1) | d, lib:any (>= 2), virt" }),
  stanza({ Package: "c", Version: "1", Description: "c\n Depends: sneaky" }),
  stanza({ Package: "lib", Version: "1", Provides: "libabi (= 2), virt" }),
  stanza({ Package: "ess", Version: "1", Essential: "yes" }),
  stanza({ Package: "both", Version: "1" }),
  stanza({ Package: "alt-both", Version: "1", Provides: "both" }),
  stanza({ Package: "uses-both", Version: "1", Depends: "both" }),
  stanza({ Package: "multi", Version: "1", Depends: "two" }),
  stanza({ Package: "p1", Version: "1", Provides: "two" }),
  stanza({ Package: "p2", Version: "1", Provides: "two" }),
].join("");

describe("Packages resolver (upstream's read_files and Collection.complete)", () => {
  const data = readIndexes([{ arch: "amd64", text: AMD64 }], true);
  const sources = parseSources(parseXml('<Sources><Source type="apt" url="http://x/d" version="v"><Component>main</Component><Arch>amd64</Arch></Source></Sources>'), "sources.xml");
  const coll = (groups = ["amd64"]) => new AptCollection(meta(groups), [{ src: sources[0], data }]);

  it("reads dependencies as upstream: versions and :any dropped, alternatives as choice-PKG-ARCH-N", () => {
    // Pre-Depends and Depends each count their alternatives from 0: both are choice-app-amd64-0, the later wins.
    expect(data.deps.get("global")!.get("app")).to.deep.equal(["choice-app-amd64-0", "choice-app-amd64-0", "lib", "virt"]);
    expect([...data.provides.get("global")!.get("choice-app-amd64-0")!]).to.deep.equal(["c", "d"]);
    // an indented description line that reads like a field counts (upstream trims every line)
    expect(data.deps.get("global")!.get("c")).to.deep.equal(["sneaky"]);
    // a versioned Provides keeps its version in the name
    expect(data.provides.get("global")!.has("libabi (= 2)")).to.equal(true);
    expect([...data.essential]).to.deep.equal(["ess"]);
  });

  it("forces a single provider, leaves several to the client, waits for a provider of a real package", () => {
    const { packages, unknown } = coll().complete(new Set(["app", "uses-both", "multi"]), new Map());
    // virt has one provider (lib): already there. two has two (p1, p2): neither is added.
    // both: no provider in the set by the last pass → the package "both" itself.
    expect([...packages].sort()).to.deep.equal(["app", "both", "lib", "multi", "uses-both"]);
    // the alternative (c | d) is a virtual package upstream never reports as unknown
    expect([...unknown]).to.deep.equal([]);
    expect([...coll().complete(new Set(["ghost"]), new Map()).unknown]).to.deep.equal(["ghost"]);
  });

  it("takes a provider that is in the set instead of the real package of the same name", () => {
    const { packages } = coll().complete(new Set(["uses-both", "alt-both"]), new Map());
    expect(packages.has("both")).to.equal(false);
    expect(packages.has("alt-both")).to.equal(true);
  });

  it("a source applies only to clients in one of its Arch groups and all of its conditions", () => {
    const xml = parseXml(
      '<Sources><Group name="g"><Client name="c2" negate="true"><Source type="apt" url="http://x/d" version="v"><Component>main</Component><Arch>amd64</Arch></Source></Client></Group></Sources>',
    );
    const [src] = parseSources(xml, "sources.xml");
    const applies = (groups: string[], host: string) => sourceApplies(src, meta(groups, host));
    expect(applies(["g", "amd64"], "c1")).to.equal(true);
    expect(applies(["g", "amd64"], "c2")).to.equal(false);
    expect(applies(["amd64"], "c1")).to.equal(false);
    expect(applies(["g", "i386"], "c1")).to.equal(false);
  });

  it("skips a source it cannot serve, naming sources.xml:line", () => {
    const bad: string[] = [];
    const srcs = parseSources(parseXml('<Sources>\n<Source type="yum" url="http://x/"/>\n<Source type="apt" url="ftp://x/"><Arch>a</Arch></Source>\n</Sources>'), "Packages/sources.xml", (m) => bad.push(m));
    expect(srcs).to.deep.equal([]);
    expect(bad[0]).to.match(/^Packages\/sources\.xml:2: .*APT sources only/);
    expect(bad[1]).to.match(/^Packages\/sources\.xml:3: "ftp:\/\/x\/" is not an http/);
  });
});
