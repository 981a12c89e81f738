// `--workers N` (server/http/workers.ts): two worker processes share one port and one SQLite
// store; both answer, and a worker that is killed is replaced.
import https from "node:https";
import { join } from "node:path";
import { expect } from "chai";
import { spawnServer, type ServerProcess } from "../../../harness/server-process.js";
import { ADMIN_PASSWORD, makeSite, request, SITE_PASSWORD, statsDocument, xmlrpc, type ReportSite } from "../../../harness/report-site.js";
import { formLogin } from "./login-client.js";

const ENV = { VACFG_SITE_PASSWORD: SITE_PASSWORD, VACFG_ADMIN_PASSWORD: ADMIN_PASSWORD };

describe("server --workers (cluster) on one SQLite store", function () {
  this.timeout(120_000);
  let site: ReportSite;
  let srv: ServerProcess;
  const ca = (): string => site.config.tls.ca;

  before(async function () {
    site = makeSite();
    srv = await spawnServer(site.configPath, `sqlite:${join(site.dir, "shared.db")}`, { workers: 2, env: ENV, logFile: join(site.dir, "cluster.log") });
  });

  after(async function () {
    await srv?.stop();
    site?.cleanup();
  });

  /** Worker pids seen answering /metrics over `n` fresh connections (the primary spreads connections round-robin). */
  async function answeringPids(n: number): Promise<Set<number>> {
    const pids = new Set<number>();
    for (let i = 0; i < n; i++) {
      const agent = new https.Agent({ keepAlive: false });
      const r = await request(`${srv.url}/metrics`, ca(), { agent });
      agent.destroy();
      const m = /^vacfg_process_info\{pid="(\d+)"\} 1$/m.exec(r.body);
      if (m) pids.add(Number(m[1]));
    }
    return pids;
  }

  it("answers from both workers, over one store", async function () {
    const pids = await answeringPids(8);
    expect(pids.size).to.equal(2);
    // Statistics sent over several connections (so to both workers) are all in the one store.
    for (let i = 0; i < 6; i++) {
      const agent = new https.Agent({ keepAlive: false });
      expect(await xmlrpc(srv.url, ca(), `w${i}`, SITE_PASSWORD, "RecvStats", [statsDocument(i % 2 ? "clean" : "dirty")], agent)).to.equal(true);
      agent.destroy();
    }
    const page = await request(`${srv.url}/reports/`, ca(), { headers: { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}` } });
    expect(page.body).to.match(/id="n-bad"[^>]*>3</);
    expect(page.body).to.match(/id="n-clean"[^>]*>3</);
  });

  it("restarts a worker that is killed", async function () {
    const before = await answeringPids(8);
    const victim = [...before][0];
    process.kill(victim, "SIGKILL");
    // The survivor keeps answering while the primary forks a replacement.
    let now = new Set<number>();
    // Up to a minute: a worker starting on a loaded machine takes a while.
    for (let i = 0; i < 240; i++) {
      await new Promise((r) => setTimeout(r, 250));
      now = await answeringPids(4);
      if (now.size === 2 && !now.has(victim)) break;
    }
    expect(now.has(victim)).to.equal(false);
    expect(now.size).to.equal(2);
    expect(await xmlrpc(srv.url, ca(), "after-restart", SITE_PASSWORD, "DeclareVersion", ["1.4.0"])).to.equal(true);
  });

  it("adds up failed admin logins made through both workers (one limit in the store)", async function () {
    // Each login is a fresh connection, so the primary spreads them over both workers (3 + 2): with a
    // limit per process neither worker would have seen 5.
    const pids = await answeringPids(4);
    expect(pids.size).to.equal(2);
    for (let i = 0; i < 4; i++) expect((await formLogin(srv.url, ca(), `wrong-${i}`, "127.0.0.3")).status, `attempt ${i + 1}`).to.equal(401);
    const fifth = await formLogin(srv.url, ca(), "wrong-4", "127.0.0.3");
    expect(fifth.status).to.equal(429);
    for (let i = 0; i < 4; i++) expect((await formLogin(srv.url, ca(), ADMIN_PASSWORD, "127.0.0.3")).status, `right password, connection ${i + 1}`).to.equal(429);
  });
});
