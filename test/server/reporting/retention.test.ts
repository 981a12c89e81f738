// Stored runs are bounded: `vacfg reports purge --older-than DURATION` (the real CLI process) and
// the server's automatic retention (`[reporting] keep_runs`), each keeping every client's newest run.
import { execFile } from "node:child_process";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { loadServerConfig } from "../../../server/admin/server-config.js";
import { openStore } from "../../../server/store/open-store.js";
import { makeSite, startSiteServer, type ReportSite } from "../../../harness/report-site.js";
import { makeRun } from "../../support/run-record.js";
import { projectRoot } from "../../support/paths.js";

const run = promisify(execFile);
const VACFG = join(projectRoot, "dist/cli/vacfg.js");
const DAY = 86_400_000;

describe("run retention", function () {
  this.timeout(180_000);
  let site: ReportSite;

  beforeEach(() => {
    site = makeSite();
  });
  afterEach(() => site?.cleanup());

  async function seed(url: string): Promise<void> {
    const store = await openStore(url);
    const now = Date.now();
    for (const [client, ageDays] of [["old", 200], ["old", 100], ["both", 120], ["both", 2], ["recent", 1]] as const) {
      await store.recordRun(makeRun(client, now - ageDays * DAY));
    }
    await store.close();
  }

  async function runsByClient(url: string): Promise<Record<string, number>> {
    const store = await openStore(url);
    const out: Record<string, number> = {};
    for (const r of await store.listRuns()) out[r.client] = (out[r.client] ?? 0) + 1;
    await store.close();
    return out;
  }

  it("vacfg reports purge --older-than 30d deletes older runs, keeping each client's newest", async function () {
    const url = `sqlite:${join(site.dir, "purge.db")}`;
    await seed(url);
    const { stdout } = await run(process.execPath, [VACFG, "reports", "purge", "--older-than", "30d", "--store", url]);
    expect(stdout).to.equal("purged 2 runs older than 30d (each client's newest run kept)\n");
    expect(await runsByClient(url)).to.deep.equal({ old: 1, both: 1, recent: 1 });
  });

  it("refuses a purge without a valid duration, naming the option", async function () {
    const url = `sqlite:${join(site.dir, "purge.db")}`;
    await seed(url);
    for (const bad of [[], ["--older-than", "30"], ["--older-than", "0d"], ["--older-than", "soon"]]) {
      const e = await run(process.execPath, [VACFG, "reports", "purge", ...bad, "--store", url]).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      expect(e?.code, bad.join(" ")).to.not.equal(0);
      expect(e?.stderr).to.match(/purge: --older-than must be a duration such as 90d/);
    }
    expect(await runsByClient(url)).to.deep.equal({ old: 2, both: 2, recent: 1 });
  });

  it("the server applies [reporting] keep_runs when it starts", async function () {
    appendFileSync(site.configPath, "\n[reporting]\nkeep_runs = 60d\n");
    const config = loadServerConfig(site.configPath);
    expect(config.keepRunsMs).to.equal(60 * DAY);
    const url = `sqlite:${join(site.dir, "kept.db")}`;
    await seed(url);
    site.config.storeUrl = url;
    site.config.keepRunsMs = config.keepRunsMs;
    const server = await startSiteServer(site);
    try {
      // The first pass runs at start, asynchronously: wait for it through the store.
      for (let i = 0; i < 1200 && (await server.core.store.listRuns()).length !== 3; i++) await new Promise((r) => setTimeout(r, 50));
      expect((await server.core.store.listRuns()).map((r) => r.client).sort()).to.deep.equal(["both", "old", "recent"]);
    } finally {
      await server.close();
    }
  });

  it("refuses a keep_runs that is not a duration, naming file:line", function () {
    appendFileSync(site.configPath, "\n[reporting]\nkeep_runs = forever\n");
    expect(() => loadServerConfig(site.configPath)).to.throw(/vacfg\.conf:\d+: keep_runs must be a duration such as 90d/);
  });
});
