// A RecvStats that returned true is durable: the server process is SIGKILLed during a stream of
// RecvStats, and every acknowledged run is in the store afterwards (SQLite and PostgreSQL).
// bench/stats-durability.ts runs 100 trials per engine; here a few.
import { join } from "node:path";
import { expect } from "chai";
import { startPostgres, type PostgresServer } from "../../../harness/postgres-server.js";
import { statsDurabilityTrials } from "../../../harness/stats-durability.js";
import { ADMIN_PASSWORD, makeSite, SITE_PASSWORD, type ReportSite } from "../../../harness/report-site.js";

const ENV = { VACFG_SITE_PASSWORD: SITE_PASSWORD, VACFG_ADMIN_PASSWORD: ADMIN_PASSWORD };

describe("RecvStats durability when the server is SIGKILLed", function () {
  this.timeout(240_000);
  let site: ReportSite;
  let pg: PostgresServer | undefined;

  before(() => {
    site = makeSite();
  });
  after(async () => {
    await pg?.stop();
    site?.cleanup();
  });

  for (const engine of ["sqlite", "postgres"] as const) {
    it(`loses no acknowledged run (${engine}, 3 kills)`, async function () {
      let storeUrl = `sqlite:${join(site.dir, "durable.db")}`;
      if (engine === "postgres") {
        // fsync on: the acknowledgement must mean "on disk", as in production.
        pg = await startPostgres({ durable: true });
        storeUrl = pg.url;
      }
      const r = await statsDurabilityTrials({ configPath: site.configPath, storeUrl, ca: site.config.tls.ca, password: SITE_PASSWORD, env: ENV, trials: 3, logFile: join(site.dir, `${engine}.log`) });
      expect(r.trials).to.equal(3);
      expect(r.acknowledged).to.be.greaterThan(0);
      expect(r.lost).to.equal(0);
    });
  }
});
