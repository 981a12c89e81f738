// Several vacfg server processes sharing one real PostgreSQL and one repository behave as one
// server: probe data sent to one is used by another's GetConfig, a client registered on one is
// known to the other, and statistics from both land in one place (the reports of either).
import { join } from "node:path";
import { expect } from "chai";
import { renderTextReport } from "../../../server/reporting/text-report.js";
import { openStore } from "../../../server/store/open-store.js";
import { sharedPostgres } from "../../../harness/postgres-server.js";
import { spawnServer, type ServerProcess } from "../../../harness/server-process.js";
import { ADMIN_PASSWORD, makeSite, request, SITE_PASSWORD, statsDocument, xmlrpc, type ReportSite } from "../../../harness/report-site.js";
import { formLogin } from "./login-client.js";

const ENV = { VACFG_SITE_PASSWORD: SITE_PASSWORD, VACFG_ADMIN_PASSWORD: ADMIN_PASSWORD };

/** The probe-data document a client sends back for `<probes>`: every probe answers `output`. */
function probeData(probes: string, output: string): string {
  const items = [...probes.matchAll(/<probe [^>]*name="([^"]*)"[^>]*source="([^"]*)"/g)].map((m) => `<probe-data name="${m[1]}" source="${m[2]}">${output}</probe-data>`);
  expect(items.length, probes).to.be.greaterThan(0);
  return `<ProbeData>${items.join("")}</ProbeData>`;
}

describe("several server processes on one PostgreSQL", function () {
  this.timeout(120_000);
  let site: ReportSite;
  let pgUrl: string;
  let a: ServerProcess;
  let b: ServerProcess;
  const ca = (): string => site.config.tls.ca;
  const admin = { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}` };

  before(async function () {
    pgUrl = await (await sharedPostgres()).createDatabase();
    site = makeSite(pgUrl);
    [a, b] = await Promise.all([
      spawnServer(site.configPath, pgUrl, { env: ENV, logFile: join(site.dir, "a.log") }),
      spawnServer(site.configPath, pgUrl, { env: ENV, logFile: join(site.dir, "b.log") }),
    ]);
    expect(a.url).not.to.equal(b.url);
  });

  after(async function () {
    await Promise.all([a?.stop(), b?.stop()]);
    site?.cleanup();
  });

  it("uses probe data sent to one instance in the other's GetConfig", async function () {
    const probes = String(await xmlrpc(a.url, ca(), "node5", SITE_PASSWORD, "GetProbes"));
    // Before any probe data, node5 is not in group "probed": no /etc/probed.
    expect(String(await xmlrpc(b.url, ca(), "node5", SITE_PASSWORD, "GetConfig"))).not.to.contain('name="/etc/probed"');
    expect(await xmlrpc(a.url, ca(), "node5", SITE_PASSWORD, "RecvProbeData", [probeData(probes, "group:probed\n")])).to.equal(true);
    const config = String(await xmlrpc(b.url, ca(), "node5", SITE_PASSWORD, "GetConfig"));
    expect(config).to.contain('name="/etc/probed"');
    expect(config).to.contain('name="/etc/motd"');
  });

  it("knows on one instance a client first registered on the other", async function () {
    await xmlrpc(a.url, ca(), "node7", SITE_PASSWORD, "DeclareVersion", ["1.4.0"]);
    const page = await request(`${b.url}/reports/clients?client=node7`, ca(), { headers: admin });
    expect(page.status).to.equal(200);
    expect(page.body).to.match(/node7<\/a><\/td><td>appliance<\/td>/);
    const store = await openStore(pgUrl);
    try {
      expect((await store.getClient("node7"))?.version).to.equal("1.4.0");
    } finally {
      await store.close();
    }
  });

  it("puts statistics sent to either instance in one place", async function () {
    expect(await xmlrpc(a.url, ca(), "node5", SITE_PASSWORD, "RecvStats", [statsDocument("dirty")])).to.equal(true);
    expect(await xmlrpc(b.url, ca(), "node6", SITE_PASSWORD, "RecvStats", [statsDocument("clean")])).to.equal(true);
    for (const srv of [a, b]) {
      const page = await request(`${srv.url}/reports/clients`, ca(), { headers: admin });
      expect(page.body).to.match(/node5<\/a><\/td><td>appliance<\/td><td><span class="state state-bad">/);
      expect(page.body).to.match(/node6<\/a><\/td><td>appliance<\/td><td><span class="state state-clean">/);
    }
    const store = await openStore(pgUrl);
    try {
      const rows = JSON.parse(await renderTextReport(store, { view: "clients", json: true })) as Array<{ name: string; state: string }>;
      expect(rows.filter((r) => r.name === "node5" || r.name === "node6").map((r) => [r.name, r.state])).to.deep.equal([
        ["node5", "bad"],
        ["node6", "clean"],
      ]);
    } finally {
      await store.close();
    }
  });

  it("shares the admin login limit: failures on both add up, a success on one clears both", async function () {
    const login = (srv: ServerProcess, password: string) => formLogin(srv.url, ca(), password, "127.0.0.4");
    for (let i = 0; i < 2; i++) expect((await login(a, `x-a-${i}`)).status).to.equal(401);
    for (let i = 0; i < 2; i++) expect((await login(b, `x-b-${i}`)).status).to.equal(401);
    expect((await login(b, ADMIN_PASSWORD)).status).to.equal(303);
    for (let i = 0; i < 3; i++) expect((await login(a, `y-a-${i}`)).status, `A attempt ${i + 1} after the success`).to.equal(401);
    expect((await login(b, "y-b-0")).status).to.equal(401);
    const fifth = await login(b, "y-b-1");
    expect(fifth.status).to.equal(429);
    expect(fifth.headers["retry-after"]).to.equal("900");
    for (const srv of [a, b]) {
      const r = await login(srv, ADMIN_PASSWORD);
      expect(r.status).to.equal(429);
      expect(Number(r.headers["retry-after"])).to.be.within(890, 900);
    }
  });
});
