// RecvStats answers True only after the run is committed: when the store cannot write it (SQLite
// locked by another connection, PostgreSQL stopped) the client gets a fault, keeps its statistics
// and sends them again; the retry after the store recovers is stored once.
import { join } from "node:path";
import Database from "better-sqlite3";
import pgDriver from "pg";
import { expect } from "chai";
import { startPostgres, type PostgresServer } from "../../../harness/postgres-server.js";
import { makeSite, SITE_PASSWORD, startSiteServer, statsDocument, xmlrpc, type ReportSite } from "../../../harness/report-site.js";
import type { StartedServer } from "../../../server/start-server.js";

describe("RecvStats is acknowledged only after its commit", function () {
  this.timeout(120_000);
  let site: ReportSite;
  let server: StartedServer | undefined;
  let pg: PostgresServer | undefined;

  afterEach(async () => {
    await server?.close().catch(() => undefined);
    server = undefined;
    await pg?.stop();
    pg = undefined;
    site?.cleanup();
  });

  it("faults while another connection holds SQLite's write lock, and stores the retry once", async function () {
    site = makeSite();
    const dbFile = join(site.dir, "locked.db");
    site.config.storeUrl = `sqlite:${dbFile}`;
    server = await startSiteServer(site);
    const { url } = server;
    const ca = site.config.tls.ca;
    await xmlrpc(url, ca, "node1", SITE_PASSWORD, "DeclareVersion", ["1.4.0"]);

    const holder = new Database(dbFile);
    holder.pragma("busy_timeout = 0");
    holder.exec("BEGIN EXCLUSIVE");
    let refusal: Error | undefined;
    try {
      await xmlrpc(url, ca, "node1", SITE_PASSWORD, "RecvStats", [statsDocument("dirty")]);
    } catch (e) {
      refusal = e as Error;
    } finally {
      holder.exec("ROLLBACK");
    }
    expect(refusal?.message).to.match(/RecvStats: fault -32500: Critical failure: Statistics of node1 were not stored: .*(locked|busy)/i);
    expect(await server.core.store.listRuns({ client: "node1" })).to.have.length(0);

    // The client kept its statistics and sends them again: now they are stored, once.
    expect(await xmlrpc(url, ca, "node1", SITE_PASSWORD, "RecvStats", [statsDocument("dirty")])).to.equal(true);
    const runs = await server.core.store.listRuns({ client: "node1" });
    expect(runs.map((r) => r.state)).to.deep.equal(["dirty"]);
    holder.close();
  });

  it("faults when PostgreSQL refuses the write, and when it is stopped", async function () {
    pg = await startPostgres();
    site = makeSite(pg.url);
    server = await startSiteServer(site);
    const { url } = server;
    const ca = site.config.tls.ca;
    expect(await xmlrpc(url, ca, "node1", SITE_PASSWORD, "RecvStats", [statsDocument("clean")])).to.equal(true);

    // Reads still work (the client's metadata resolves), the run's INSERT fails.
    const admin = new pgDriver.Client({ connectionString: pg.url });
    await admin.connect();
    const db = (await admin.query("SELECT current_database() AS d")).rows[0].d as string;
    await admin.query(`ALTER DATABASE ${db} SET default_transaction_read_only = on`);
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [db]);
    await admin.end();
    const readOnly = await xmlrpc(url, ca, "node1", SITE_PASSWORD, "RecvStats", [statsDocument("dirty")]).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(readOnly?.message).to.match(/RecvStats: fault -32500: Critical failure: Statistics of node1 were not stored: .*read-only/);
    expect((await server.core.store.listRuns({ client: "node1" })).map((r) => r.state)).to.deep.equal(["clean"]);

    await pg.stop();
    pg = undefined;
    const stopped = await xmlrpc(url, ca, "node1", SITE_PASSWORD, "RecvStats", [statsDocument("dirty")]).then(
      () => undefined,
      (e: Error) => e,
    );
    // Not acknowledged: a fault, or a 503 when even authentication needs the store.
    expect(stopped?.message).to.match(/RecvStats: (fault -32500: Critical failure: |HTTP 503)/);
  });
});
