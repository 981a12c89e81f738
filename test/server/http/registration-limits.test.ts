// Self-registration is bounded: `[metadata] registration = off` refuses every unknown client (401,
// nothing written), and `registrations_per_hour` limits the new clients one address may add; the
// server's own loopback address is not limited. Known clients are never affected.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { makeSite, request, SITE_PASSWORD, startSiteServer, writeFiles, type ReportSite } from "../../../harness/report-site.js";
import { serializeMethodCall } from "../../../protocol/xmlrpc/serializer.js";
import type { StartedServer } from "../../../server/start-server.js";

const CLIENTS = '<Clients>\n  <Client name="known1" profile="appliance"/>\n</Clients>\n';

describe("self-registration limits", function () {
  this.timeout(180_000);
  let site: ReportSite;
  let server: StartedServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
    site?.cleanup();
  });

  async function start(settings: { registration?: boolean; registrationsPerHour?: number }): Promise<StartedServer> {
    site = makeSite();
    writeFiles(site.config.settings.repo, { "Metadata/clients.xml": CLIENTS });
    Object.assign(site.config.settings, settings);
    server = await startSiteServer(site);
    return server;
  }

  const declare = (s: StartedServer, client: string, from: string) =>
    request(`${s.url}/RPC2`, site.config.tls.ca, {
      method: "POST",
      from,
      headers: { "Content-Type": "text/xml", Authorization: `Basic ${Buffer.from(`${client}:${SITE_PASSWORD}`).toString("base64")}` },
      body: serializeMethodCall({ methodName: "DeclareVersion", params: ["1.4.0"] }),
    }).then((r) => r.status);

  it("with registration off, refuses unknown clients with 401 and writes nothing; known clients still run", async function () {
    const s = await start({ registration: false });
    const clientsXml = join(site.config.settings.repo, "Metadata/clients.xml");
    expect(await declare(s, "stranger", "127.0.0.2")).to.equal(401);
    expect(await declare(s, "stranger", "127.0.0.1")).to.equal(401);
    expect(readFileSync(clientsXml, "utf8")).to.equal(CLIENTS);
    expect(await s.core.store.getClient("stranger")).to.equal(undefined);
    expect(await declare(s, "known1", "127.0.0.2")).to.equal(200);
  });

  it("limits the new clients one address registers per hour; registered and known clients and loopback are not limited", async function () {
    const s = await start({ registrationsPerHour: 3 });
    for (const name of ["new1", "new2", "new3"]) expect(await declare(s, name, "127.0.0.2"), name).to.equal(200);
    expect(await declare(s, "new4", "127.0.0.2")).to.equal(401);
    expect(await s.core.store.getClient("new4")).to.equal(undefined);
    expect(readFileSync(join(site.config.settings.repo, "Metadata/clients.xml"), "utf8")).not.to.contain("new4");
    // Another address has its own count; clients already registered, known ones and the loopback address pass.
    expect(await declare(s, "new4", "127.0.0.3")).to.equal(200);
    expect(await declare(s, "new1", "127.0.0.2")).to.equal(200);
    expect(await declare(s, "known1", "127.0.0.2")).to.equal(200);
    expect(await declare(s, "local1", "127.0.0.1")).to.equal(200);
  });
});
