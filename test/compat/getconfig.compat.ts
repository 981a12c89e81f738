// The same repository served by upstream Bcfg2 and by vacfg must send the same probes and the
// same configuration to every client, after the same probe data (compared through Python's xmlrpc.client).
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseXml, serializeXml, type XmlElement } from "../../protocol/xml.js";
import { bcfg2RefKit, exampleRepo } from "../support/paths.js";
import { KIT_PLUGINS, probeData, sideBySide, SITE_PASSWORD, type SideBySide } from "./sites.js";

// Unsigned and without `users`: the Context plugin's groups and its context-users bundle (accounts from
// signed parameters) are vacfg extensions upstream does not have; test/agent/context-users.test.ts covers them.
const FIGURE1_CONTEXT = {
  domain: "cluster.lab",
  DNSServer: ["10.0.0.1", "10.0.0.2"],
  nodenames: ["node0", "node1", "node2", "node3", "node4"],
  addresses: ["10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14"],
  np: "4",
};


/** Entries only one side can bind by design, dropped from both documents before comparing. */
type Exclusion = (entry: XmlElement) => boolean;

function canonical(xml: string, exclude: Exclusion): string {
  const root = parseXml(xml.trim(), { keepBlankText: true });
  for (const b of root.children) b.children = b.children.filter((e) => !exclude(e));
  return serializeXml(root);
}

function probeSet(xml: string): string[] {
  return parseXml(xml.trim(), { keepBlankText: true })
    .children.map((p) => serializeXml(p))
    .sort();
}

function clientsOf(repo: string): Array<{ name: string; password: string }> {
  const doc = parseXml(readFileSync(join(repo, "Metadata/clients.xml"), "utf8"));
  return doc.children.filter((c) => c.tag === "Client").map((c) => ({ name: c.attrs.name, password: c.attrs.password ?? SITE_PASSWORD }));
}

function compareRepository(
  label: string,
  repo: string,
  probeOutputs: (client: string) => Array<[string, string]>,
  exclude: Exclusion,
  plugins?: string[],
): void {
  describe(`GetProbes/GetConfig on ${label}: vacfg = upstream Bcfg2`, function () {
    this.timeout(300_000);
    let s: SideBySide;
    before(async () => {
      s = await sideBySide(repo, { plugins });
    });
    after(async () => s?.stop());

    for (const { name, password } of clientsOf(repo)) {
      it(`sends ${name} the same probes and configuration`, async () => {
        const v = await s.both(name, password, "DeclareVersion", "1.4.0pre2");
        expect(v.vacfg).to.equal(v.upstream);
        // Upstream lists Probes/ in directory (hash) order; the set of probes is what matters.
        const probes = await s.both(name, password, "GetProbes");
        expect(probeSet(probes.vacfg)).to.deep.equal(probeSet(probes.upstream));
        const before = await s.both(name, password, "GetConfig");
        expect(canonical(before.vacfg, exclude), "before probe data").to.equal(canonical(before.upstream, exclude));
        const recv = await s.both(name, password, "RecvProbeData", probeData(probeOutputs(name)));
        expect(recv.vacfg.trim()).to.equal("true");
        expect(recv.upstream.trim()).to.equal("true");
        const after = await s.both(name, password, "GetConfig");
        const ours = canonical(after.vacfg, exclude);
        expect(ours).to.match(/<Bundle /);
        expect(ours, "after probe data").to.equal(canonical(after.upstream, exclude));
      });
    }

    it("and the same whitelist", async () => {
      const [c] = clientsOf(repo);
      const d = await s.both(c.name, c.password, "GetDecisionList", "whitelist");
      const ours = JSON.parse(d.vacfg) as unknown[];
      expect(ours.length).to.be.greaterThan(0);
      expect(ours).to.deep.equal(JSON.parse(d.upstream));
    });
  });
}

// repo/: the upstream kit runs without SSHbase, so the entries our SSHbase binds are left out.
const SSHBASE_PATHS = /^\/etc\/ssh\/(ssh_known_hosts|ssh_host_.*_key(\.pub)?)$/;
compareRepository(
  "repo/ (the example Torque appliance)",
  exampleRepo,
  () => [["vacfg-context", JSON.stringify(FIGURE1_CONTEXT)]],
  (e) => e.tag === "Path" && SSHBASE_PATHS.test(e.attrs.name ?? ""),
);

// The kit's lab repository, with the kit's plugin list: everything (the Cheetah-rendered
// mom_priv/config included) but the per-installation generated key pairs, whose bytes differ by nature.
const labRepo = join(bcfg2RefKit, "repo");
compareRepository(
  "the upstream lab repository",
  labRepo,
  (client) => [
    ["group", "group:bookworm\n"],
    ["cpus", client === "node4" ? "32\n" : "2\n"],
  ],
  (e) => /^\/root\/\.ssh\/(id_rsa(\.pub)?|authorized_keys)$/.test(e.attrs.name ?? ""),
  KIT_PLUGINS,
);
