// The real upstream Bcfg2 server (/opt/bcfg2-ref) and Core, on the same repository: GetProbes,
// GetConfig (before and after probe data), GetDecisionList and the clients.xml it writes must agree.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { parseXml } from "../../../protocol/xml.js";
import { harness, type Harness } from "./harness.js";
import { bcfg2RefInstall } from "../../support/paths.js";
import { startUpstreamServer, upstreamCall, type UpstreamServer } from "../../support/upstream-bcfg2.js";
import { EDGE_REPO, GROUP_PATTERNS_NO_RANGE_REPO, REPO, XINCLUDE_REPO } from "./fixture-repo.js";

/** A Core harness and the upstream server on copies of the same repository, for one describe block. */
function onBothServers(repo: Parameters<typeof harness>[0], extraPlugins: string[] = []): { h: () => Harness; up: () => UpstreamServer } {
  let h: Harness | undefined;
  let up: UpstreamServer | undefined;
  before(async () => {
    h = await harness(repo);
    up = await startUpstreamServer(h.repo, "sitesecret", extraPlugins);
  });
  after(async () => {
    await up?.stop();
    await h?.cleanup();
  });
  return { h: () => h!, up: () => up! };
}

/** One upstream call as Python's xmlrpc.client makes it, result text without the trailing newline. */
async function upstream(up: UpstreamServer, client: string, password: string, method: string, ...args: string[]): Promise<string> {
  return (await upstreamCall(up.url, client, password, method, ...args)).replace(/\n$/, "");
}

describe("server core vs the real upstream server", function () {
  this.timeout(120_000);
  const both = onBothServers(REPO);
  const passwords: Record<string, string> = { web1: "sitesecret", db1: "db1pw", odd: "sitesecret", node9: "sitesecret" };

  const ref = (client: string, method: string, ...args: string[]): Promise<string> => upstream(both.up(), client, passwords[client], method, ...args);

  it("GetProbes and GetConfig agree for every client", async () => {
    for (const c of ["web1", "db1", "odd"]) {
      const sortProbes = (x: string) => parseXml(x).children.map((p) => `${p.attrs.name}|${p.attrs.interpreter}|${p.text}`).sort();
      expect(sortProbes(await both.h().core.getProbes(c)), `GetProbes ${c}`).to.deep.equal(sortProbes(await ref(c, "GetProbes")));
      expect(await both.h().core.getConfig(c), `GetConfig ${c}`).to.equal(await ref(c, "GetConfig"));
    }
  });

  it("after the same probe data (group: lines), GetConfig still agrees", async () => {
    const pd = '<ProbeData><probe-data name="hw" source="Probes">{"cpus": 4}\ngroup:big  trailing\n</probe-data></ProbeData>';
    expect(await ref("web1", "RecvProbeData", pd)).to.equal("true");
    await both.h().core.recvProbeData("web1", pd);
    const ours = await both.h().core.getConfig("web1");
    expect(ours).to.include('name="bigpkg"');
    expect(ours).to.equal(await ref("web1", "GetConfig"));
  });

  it("GetDecisionList agrees", async () => {
    for (const c of ["web1", "db1"]) {
      expect(await both.h().core.getDecisionList(c, "whitelist")).to.deep.equal(JSON.parse(await ref(c, "GetDecisionList", "whitelist")));
    }
  });

  it("DeclareVersion / AssertProfile / a new client leave the same clients.xml elements", async () => {
    for (const [c, m, a] of [["web1", "DeclareVersion", "1.4.0pre2"], ["node9", "DeclareVersion", "1.4.0pre2"], ["odd", "AssertProfile", "db"]] as const) {
      expect(await ref(c, m, a)).to.equal("true");
      if (m === "DeclareVersion") await both.h().core.declareVersion(c, a);
      else await both.h().core.assertProfile(c, a);
    }
    const elements = (path: string) => parseXml(readFileSync(path, "utf8")).children.map((e) => JSON.stringify([e.tag, e.attrs]));
    const theirs = elements(join(bcfg2RefInstall, "run", String(both.up().port), "repo", "Metadata", "clients.xml"));
    expect(elements(join(both.h().repo, "Metadata", "clients.xml"))).to.deep.equal(theirs);
  });
});

describe("server core vs the real upstream server: corner cases", function () {
  this.timeout(120_000);
  const both = onBothServers(EDGE_REPO);

  it("non-leaf nested groups, Client negate, XMLMatch order, bundle names from files, Independent, RequiredBundle, probe names", async () => {
    for (const c of ["c1", "c2", "c3"]) {
      const ref = (method: string) => upstream(both.up(), c, "sitesecret", method);
      // Upstream lists probes in directory-event order, so compare them as a set.
      const probes = (x: string) => parseXml(x).children.map((p) => JSON.stringify([p.attrs, p.text])).sort();
      expect(probes(await both.h().core.getProbes(c)), `GetProbes ${c}`).to.deep.equal(probes(await ref("GetProbes")));
      expect(await both.h().core.getConfig(c), `GetConfig ${c}`).to.equal(await ref("GetConfig"));
    }
  });
});

describe("server core vs the real upstream server: XInclude", function () {
  this.timeout(120_000);
  const both = onBothServers(XINCLUDE_REPO);

  it("groups.xml and a bundle split with xi:include (nested, fallback, include in mid-bundle) give the same GetConfig", async () => {
    for (const c of ["x1", "x2"]) {
      expect(await both.h().core.getConfig(c), `GetConfig ${c}`).to.equal(await upstream(both.up(), c, "sitesecret", "GetConfig"));
    }
    expect(await both.h().core.getConfig("x1")).to.include('name="deep-pkg"').and.include('name="fb-pkg"').and.include('name="from-groups-d"');
  });
});

describe("server core vs the real upstream server: GroupPatterns", function () {
  this.timeout(120_000);
  const both = onBothServers(GROUP_PATTERNS_NO_RANGE_REPO, ["GroupPatterns"]);

  it("NamePattern with $n, nested GroupPatterns and a broken regex give the same GetConfig (NameRange: see fixture)", async () => {
    for (const c of ["web12.lab", "node7", "node33", "node40x", "db1"]) {
      expect(await both.h().core.getConfig(c), `GetConfig ${c}`).to.equal(await upstream(both.up(), c, "sitesecret", "GetConfig"));
    }
    // The comparison means something only if the patterns did add groups.
    expect(await both.h().core.getConfig("web12.lab")).to.include('name="rack12pkg"').and.include('name="labpkg"').and.include('name="webpkg"');
    expect(await both.h().core.getConfig("node40x")).to.include('name="bigpkg"').and.include('name="anynodepkg"');
  });
});
