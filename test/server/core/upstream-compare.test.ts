// The real upstream Bcfg2 server (/opt/bcfg2-ref) and Core, on the same repository: GetProbes,
// GetConfig (before and after probe data), GetDecisionList and the clients.xml it writes must agree.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { parseXml } from "../../../protocol/xml.js";
import { harness, type Harness } from "./harness.js";
import { bcfg2RefInstall } from "../../support/paths.js";
import { ensureUpstreamInstalled, freePort } from "../../support/upstream-bcfg2.js";
import { EDGE_REPO, REPO } from "./fixture-repo.js";

const run = promisify(execFile);
const REF = bcfg2RefInstall;


describe("server core vs the real upstream server", function () {
  this.timeout(120_000);
  let h: Harness;
  let port = 0;
  let url = "";
  const passwords: Record<string, string> = { web1: "sitesecret", db1: "db1pw", odd: "sitesecret", node9: "sitesecret" };

  const ref = async (client: string, method: string, ...args: string[]): Promise<string> => {
    const { stdout } = await run(join(REF, "xmlrpc-call.py"), [url, client, passwords[client], method, ...args], { maxBuffer: 1 << 24 });
    return stdout.replace(/\n$/, "");
  };

  before(async function () {
    expect(ensureUpstreamInstalled(), "upstream Bcfg2 reference").to.equal(true);
    h = await harness(REPO);
    port = await freePort();
    url = `https://127.0.0.1:${port}`;
    await run(join(REF, "start-server.sh"), ["--repo", h.repo, "--port", String(port), "--password", "sitesecret"]);
  });

  after(async () => {
    if (port) await run(join(REF, "stop-server.sh"), ["--port", String(port)]).catch(() => undefined);
    await h?.cleanup();
  });

  it("GetProbes and GetConfig agree for every client", async () => {
    for (const c of ["web1", "db1", "odd"]) {
      const sortProbes = (x: string) => parseXml(x).children.map((p) => `${p.attrs.name}|${p.attrs.interpreter}|${p.text}`).sort();
      expect(sortProbes(await h.core.getProbes(c)), `GetProbes ${c}`).to.deep.equal(sortProbes(await ref(c, "GetProbes")));
      expect(await h.core.getConfig(c), `GetConfig ${c}`).to.equal(await ref(c, "GetConfig"));
    }
  });

  it("after the same probe data (group: lines), GetConfig still agrees", async () => {
    const pd = '<ProbeData><probe-data name="hw" source="Probes">{"cpus": 4}\ngroup:big  trailing\n</probe-data></ProbeData>';
    expect(await ref("web1", "RecvProbeData", pd)).to.equal("true");
    await h.core.recvProbeData("web1", pd);
    const ours = await h.core.getConfig("web1");
    expect(ours).to.include('name="bigpkg"');
    expect(ours).to.equal(await ref("web1", "GetConfig"));
  });

  it("GetDecisionList agrees", async () => {
    for (const c of ["web1", "db1"]) {
      expect(await h.core.getDecisionList(c, "whitelist")).to.deep.equal(JSON.parse(await ref(c, "GetDecisionList", "whitelist")));
    }
  });

  it("DeclareVersion / AssertProfile / a new client leave the same clients.xml elements", async () => {
    for (const [c, m, a] of [["web1", "DeclareVersion", "1.4.0pre2"], ["node9", "DeclareVersion", "1.4.0pre2"], ["odd", "AssertProfile", "db"]] as const) {
      expect(await ref(c, m, a)).to.equal("true");
      if (m === "DeclareVersion") await h.core.declareVersion(c, a);
      else await h.core.assertProfile(c, a);
    }
    const elements = (path: string) => parseXml(readFileSync(path, "utf8")).children.map((e) => JSON.stringify([e.tag, e.attrs]));
    const theirs = elements(join(REF, "run", String(port), "repo", "Metadata", "clients.xml"));
    expect(elements(join(h.repo, "Metadata", "clients.xml"))).to.deep.equal(theirs);
  });
});

describe("server core vs the real upstream server: corner cases", function () {
  this.timeout(120_000);
  let h: Harness;
  let port = 0;
  let url = "";

  before(async function () {
    expect(ensureUpstreamInstalled(), "upstream Bcfg2 reference").to.equal(true);
    h = await harness(EDGE_REPO);
    port = await freePort();
    url = `https://127.0.0.1:${port}`;
    await run(join(REF, "start-server.sh"), ["--repo", h.repo, "--port", String(port), "--password", "sitesecret"]);
  });

  after(async () => {
    if (port) await run(join(REF, "stop-server.sh"), ["--port", String(port)]).catch(() => undefined);
    await h?.cleanup();
  });

  it("non-leaf nested groups, Client negate, XMLMatch order, bundle names from files, Independent, RequiredBundle, probe names", async () => {
    for (const c of ["c1", "c2", "c3"]) {
      const ref = async (method: string) => (await run(join(REF, "xmlrpc-call.py"), [url, c, "sitesecret", method])).stdout.replace(/\n$/, "");
      // Upstream lists probes in directory-event order, so compare them as a set.
      const probes = (x: string) => parseXml(x).children.map((p) => JSON.stringify([p.attrs, p.text])).sort();
      expect(probes(await h.core.getProbes(c)), `GetProbes ${c}`).to.deep.equal(probes(await ref("GetProbes")));
      expect(await h.core.getConfig(c), `GetConfig ${c}`).to.equal(await ref("GetConfig"));
    }
  });
});
