// The upstream Python `bcfg2` client, unchanged, completes a dry run against `vacfg server` for the head
// node and a worker: exit 0, every entry of the configuration reported, and the run stored.
import { expect } from "chai";
import { join } from "node:path";
import { parseXml, descendants } from "../../protocol/xml.js";
import { openStore } from "../../server/store/open-store.js";
import { exampleRepo } from "../support/paths.js";
import { runRealClient, upstreamCall } from "../support/upstream-bcfg2.js";
import { sideBySide, SITE_PASSWORD, type SideBySide } from "./sites.js";

describe("the upstream bcfg2 client against vacfg server", function () {
  this.timeout(300_000);
  let s: SideBySide;
  before(async () => {
    s = await sideBySide(exampleRepo);
  });
  after(async () => s?.stop());

  for (const [client, role] of [["node0", "head node"], ["node3", "worker"]] as const) {
    it(`completes a dry run for the ${role} (${client}) with every entry reported and the run stored`, async () => {
      const run = await runRealClient(s.vacfg.url, client, SITE_PASSWORD, ["-d"]);
      expect(run.status, run.output).to.equal(0);
      const total = /Total managed entries: (\d+)/.exec(run.output);
      expect(total, run.output).to.not.equal(null);
      // Python's client reports the same number of entries as the configuration holds.
      const config = parseXml((await upstreamCall(s.vacfg.url, client, SITE_PASSWORD, "GetConfig")).trim());
      const entries = config.children.flatMap((b) => b.children).length;
      expect(Number(total![1])).to.equal(entries);
      expect(run.output).to.not.match(/bind failure|Failed to parse|Traceback/);
      expect(descendants(config, "Path").length).to.be.greaterThan(5);

      const store = await openStore(join(s.dir, "vacfg.db"));
      try {
        const runs = await store.listRuns({ client });
        expect(runs.length).to.equal(1);
        expect(runs[0].total).to.equal(entries);
        expect(runs[0].dryRun).to.equal(true);
        expect(runs[0].good + runs[0].bad).to.equal(entries);
      } finally {
        await store.close();
      }
    });
  }
});
