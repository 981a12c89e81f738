// Packages: the same sources.xml and the same real APT archive (served on 127.0.0.1) give every
// client of the packages site the same configuration from upstream Bcfg2's Packages plugin and
// from vacfg's: the same Package entries (its bundles' and the resolved closure in
// <Independent name="Packages">) and the same generated sources.list.
import { expect } from "chai";
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { startAptArchive, type AptArchive } from "../../harness/apt-archive.js";
import { parseXml, serializeXml } from "../../protocol/xml.js";
import { packagesSiteCopy, PACKAGES_CLIENTS, sitePackages } from "../support/packages-site.js";
import { KIT_PLUGINS, sideBySide, SITE_PASSWORD, type SideBySide } from "./sites.js";

/** The configuration with its elements in a stable order (both servers sort by name, stably). */
function canonical(xml: string): string {
  return serializeXml(parseXml(xml.trim(), { keepBlankText: true }));
}

function closureOf(xml: string): string[] {
  const root = parseXml(xml.trim());
  return (root.children.find((c) => c.tag === "Independent" && c.attrs.name === "Packages")?.children ?? []).map((e) => e.attrs.name);
}

describe("Packages (APT sources, dependency closure, sources.list): vacfg = upstream Bcfg2", function () {
  this.timeout(300_000);
  let archive: AptArchive;
  let repo: string;
  let s: SideBySide;
  before(async () => {
    archive = await startAptArchive(sitePackages());
    repo = packagesSiteCopy(archive.url);
    s = await sideBySide(repo, { plugins: [...KIT_PLUGINS, "Packages"], upstreamPlugins: ["Packages"] });
  });
  after(async () => {
    await s?.stop();
    await archive?.close();
    if (repo) rmSync(dirname(repo), { recursive: true, force: true });
  });

  for (const client of PACKAGES_CLIENTS) {
    it(`sends ${client} the same packages, closure and sources.list`, async () => {
      await s.both(client, SITE_PASSWORD, "DeclareVersion", "1.4.0pre2");
      const c = await s.both(client, SITE_PASSWORD, "GetConfig");
      if (client !== "bare1") expect(closureOf(c.vacfg).length, "a closure was resolved").to.be.greaterThan(3);
      expect(canonical(c.vacfg)).to.equal(canonical(c.upstream));
    });
  }
});
