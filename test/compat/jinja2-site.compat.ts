// The Jinja2 corpus (test/compat/jinja2-site: 120 .jinja2 Cfg templates written as Bcfg2 sites
// write them) served by upstream Bcfg2 (python3-jinja2) and by vacfg after the same probe data:
// every entry of every client's configuration must be byte-identical, or fail on both sides.
// The real Python client then runs against vacfg. Upstream's own failures are printed.
import { expect } from "chai";
import { join } from "node:path";
import { projectRoot } from "../support/paths.js";
import { runRealClient } from "../support/upstream-bcfg2.js";
import { configEntries, configsAfterProbes, sideBySide, SITE_PASSWORD, type SideBySide } from "./sites.js";

const SITE = join(projectRoot, "test/compat/jinja2-site");
const PLUGINS = ["Metadata", "Bundler", "Cfg", "Probes", "Properties"];

const MOUNTS = "# mounts\n/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\ntmpfs /run tmpfs rw 0 0\n";
const PROBES: Record<string, Array<[string, string]>> = {
  head0: [["cpus", "2\n"], ["gpu", '{"model": "none"}\n'], ["group", "group:bookworm\n"], ["mounts", MOUNTS], ["ifaces", '[{"name": "eth0", "dhcp": false, "addr": "10.1.0.1"}, {"name": "eth1", "dhcp": true}]\n']],
  node1: [["cpus", "4\n"], ["gpu", '{"model": "none", "count": 0}\n'], ["group", "group:bookworm\n"], ["mounts", ""], ["ifaces", "[]\n"]],
  node2: [["cpus", "16\n"], ["gpu", '{"model": "a100", "count": 2}\n'], ["group", "group:trixie\ngroup:has-gpu\n"], ["mounts", MOUNTS], ["ifaces", '[{"name": "ib0", "dhcp": true}]\n']],
  node3: [["cpus", "32\n"], ["gpu", "not json\n"], ["group", "\n"], ["mounts", "garbage"], ["ifaces", "not json\n"]],
};



describe("the Jinja2 corpus: vacfg = upstream Bcfg2, entry by entry", function () {
  this.timeout(600_000);
  let s: SideBySide;
  let configs: Map<string, { upstream: string; vacfg: string }>;
  before(async () => {
    s = await sideBySide(SITE, { plugins: PLUGINS });
    configs = await configsAfterProbes(s, PROBES);
  });
  after(async () => s?.stop());

  for (const client of Object.keys(PROBES)) {
    it(`gives ${client} the same 120 template entries`, () => {
      const c = configs.get(client)!;
      const up = configEntries(c.upstream);
      const ours = configEntries(c.vacfg);
      expect(up.size, "upstream entries").to.be.at.least(120);
      const failed = [...up].filter(([, v]) => v === "FAILED").map(([k]) => k.replace(/^\S+ Path:/, ""));
      console.log(`      upstream refuses for ${client}: ${failed.join(" ")}`);
      expect(failed.length, "most of the corpus renders upstream").to.be.below(35);
      const diffs: string[] = [];
      for (const key of new Set([...up.keys(), ...ours.keys()])) {
        if (up.get(key) !== ours.get(key)) diffs.push(`${key}\n  upstream: ${up.get(key)}\n  vacfg:    ${ours.get(key)}`);
      }
      expect(diffs, diffs.join("\n")).to.deep.equal([]);
    });
  }

  it("and the real Python client reports the same entry counts and bind failures against vacfg", async () => {
    for (const client of ["head0", "node2"]) {
      const [up, ours] = [await runRealClient(s.upstream.url, client, SITE_PASSWORD, ["-d"]), await runRealClient(s.vacfg.url, client, SITE_PASSWORD, ["-d"])];
      const total = (o: string) => /Total managed entries: (\d+)/.exec(o)?.[1];
      expect(total(ours.output), ours.output).to.not.equal(undefined);
      expect(total(ours.output)).to.equal(total(up.output));
      const bindFailures = (o: string) => (o.match(/[Bb]ind failure|Failed to bind/g) ?? []).length;
      expect(bindFailures(ours.output), ours.output).to.equal(bindFailures(up.output));
    }
  });
});
