// The Genshi corpus (test/compat/genshi-site: Genshi text templates, Genshi bundles and Rules,
// Properties xdata, JSON Properties, metadata.query, probes, groups) served by upstream Bcfg2 and
// by vacfg after the same probe data: every entry of every client's configuration must be
// byte-identical, or fail on both sides. The real Python client then runs against vacfg.
import { expect } from "chai";
import { join } from "node:path";
import { projectRoot } from "../support/paths.js";
import { runRealClient } from "../support/upstream-bcfg2.js";
import { configEntries, configsAfterProbes, sideBySide, SITE_PASSWORD, type SideBySide } from "./sites.js";

const GENSHI_SITE = join(projectRoot, "test/compat/genshi-site");
const PLUGINS = ["Metadata", "Bundler", "Rules", "Cfg", "Probes", "Defaults", "Properties", "Decisions"];

const PROBES: Record<string, Array<[string, string]>> = {
  head0: [["cpus", "2\n"], ["group", "\n"], ["gpu", '{"model": "none", "count": 0}\n'], ["disks", "<disks><disk name='sda'/></disks>\n"]],
  node1: [["cpus", "4\n"], ["group", "group:bookworm\n"], ["gpu", '{"model": "none"}\n'], ["disks", "<disks/>\n"]],
  node2: [["cpus", "16\n"], ["group", "group:bookworm\ngroup:has-gpu\n"], ["gpu", '{"model": "a100", "count": 2}\n'], ["disks", "<disks><disk name='nvme0n1'/><disk name='nvme1n1'/></disks>\n"]],
  node3: [["cpus", "32\n"], ["group", "group:trixie\n"], ["gpu", "not json\n"], ["disks", "not xml\n"]],
};



describe("the Genshi corpus: vacfg = upstream Bcfg2, entry by entry", function () {
  this.timeout(600_000);
  let s: SideBySide;
  let configs: Map<string, { upstream: string; vacfg: string }>;
  before(async () => {
    s = await sideBySide(GENSHI_SITE, { plugins: PLUGINS });
    configs = await configsAfterProbes(s, PROBES);
  });
  after(async () => s?.stop());

  for (const client of Object.keys(PROBES)) {
    it(`gives ${client} the same bundles and entries`, () => {
      const c = configs.get(client)!;
      const up = configEntries(c.upstream);
      const ours = configEntries(c.vacfg);
      expect(up.size, "upstream entries").to.be.greaterThan(60);
      const diffs: string[] = [];
      for (const key of new Set([...up.keys(), ...ours.keys()])) {
        // A bundle upstream leaves out (its template fails) is a failure entry on ours: the same failure.
        const [bundle, entry] = key.split(" ");
        if (up.get(key) === undefined && entry === `Action:bundle:${bundle}` && ours.get(key) === "FAILED") continue;
        if (up.get(key) !== ours.get(key)) diffs.push(`${key}\n  upstream: ${up.get(key)}\n  vacfg:    ${ours.get(key)}`);
      }
      expect(diffs, diffs.join("\n")).to.deep.equal([]);
    });
  }

  it("and the real Python client reports the same entry counts as against upstream, and no bind failure", async () => {
    for (const client of ["head0", "node2"]) {
      const [up, ours] = [await runRealClient(s.upstream.url, client, SITE_PASSWORD, ["-d"]), await runRealClient(s.vacfg.url, client, SITE_PASSWORD, ["-d"])];
      const total = (o: string) => /Total managed entries: (\d+)/.exec(o)?.[1];
      expect(total(ours.output), ours.output).to.not.equal(undefined);
      expect(total(ours.output)).to.equal(total(up.output));
      expect(ours.output, ours.output).to.not.match(/[Bb]ind failure|Failed to bind|Traceback/);
      expect(up.output, up.output).to.not.match(/[Bb]ind failure|Failed to bind|Traceback/);
      expect(ours.status, ours.output).to.equal(up.status);
    }
  });
});
