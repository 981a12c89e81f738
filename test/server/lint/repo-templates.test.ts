// The example repository's templates must render byte for byte the same under
// upstream's Jinja2 (python3-jinja2, as CfgJinja2Generator sets it up) and under
// vacfg's Jinja2 engine, for full, empty, partial and broken context
// parameters: the compare runs serve repo/ from both servers.
import { expect } from "chai";
import { join } from "node:path";
import { listRepositoryFiles } from "../../../server/lint/repo-files.js";
import { exampleRepo as repo } from "../../support/paths.js";
import { renderWithPython, renderWithVacfg, type Rendered } from "../templates/jinja2-differential.js";

interface Case {
  hostname: string;
  groups: string[];
  probes: Record<string, string>;
}

const full = {
  domain: "hpc.example.org",
  DNSServer: ["10.0.0.2", "10.0.0.3"],
  nodenames: ["head", "w1", "w2"],
  addresses: ["10.1.0.1", "10.1.0.2"],
  np: "4",
  users: [{ name: "alice", value: "ssh-ed25519 AAAA" }],
};

const CASES: Record<string, Case> = {
  "no probe data at all": { hostname: "node0", groups: ["torque-head"], probes: {} },
  "an empty parameter object": { hostname: "node1", groups: ["torque-worker"], probes: { "vacfg-context": "{}\n" } },
  "every parameter": { hostname: "node0", groups: ["torque-head"], probes: { "vacfg-context": `${JSON.stringify(full)}\n` } },
  "a scalar DNSServer and no nodes": {
    hostname: "node2",
    groups: ["torque-worker"],
    probes: { "vacfg-context": JSON.stringify({ DNSServer: "10.9.9.9", nodenames: [] }) },
  },
  "probe output that is not JSON": { hostname: "node3", groups: ["torque-worker"], probes: { "vacfg-context": "oops" } },
  "empty probe output": { hostname: "node4", groups: ["torque-worker"], probes: { "vacfg-context": "" } },
};

/** What templates see of the client (tagged as test/server/templates/jinja2-reference.py reads it). */
function variables(c: Case): Record<string, unknown> {
  const Probes = Object.fromEntries(Object.entries(c.probes).map(([k, v]) => [k, { __probe__: v }]));
  return { metadata: { __object__: { hostname: c.hostname, groups: { __set__: c.groups }, Probes, Properties: {} } } };
}

const text = (r: Rendered): string => ("out" in r ? r.out : `ERROR: ${r.error}`);

describe("example repository templates: Python's Jinja2 and vacfg's agree", function () {
  const files = listRepositoryFiles(repo).filter((f) => f.endsWith(".jinja2"));
  const entries = files.map((f) => ({ path: join(repo, f), name: "/" + f.split("/").slice(1, -1).join("/") }));
  const cases = Object.values(CASES);
  const jinja: Record<string, string>[] = [];
  const ours: Record<string, string>[] = [];

  before(function () {
    for (const c of cases) {
      const [py, mine] = [renderWithPython(entries, variables(c), repo), renderWithVacfg(entries, variables(c), repo)];
      jinja.push(Object.fromEntries(files.map((f, i) => [f, text(py[i]!)])));
      ours.push(Object.fromEntries(files.map((f, i) => [f, text(mine[i]!)])));
    }
  });

  it("the repository has the templates this test is about", () => {
    expect(files).to.include.members([
      "Cfg/etc/resolv.conf/resolv.conf.jinja2",
      "Cfg/etc/hosts/hosts.jinja2",
      "Cfg/var/spool/torque/server_name/server_name.jinja2",
      "Cfg/var/spool/torque/server_priv/nodes/nodes.jinja2",
      "Cfg/var/spool/torque/mom_priv/config/config.jinja2",
      "Cfg/etc/slurm/slurm.conf/slurm.conf.jinja2",
      "Cfg/etc/hostname/hostname.jinja2",
    ]);
  });

  Object.keys(CASES).forEach((label, i) => {
    it(`renders identically with ${label}, without errors`, () => {
      for (const path of files) {
        expect(jinja[i]![path], `${path} (Jinja2)`).not.to.match(/^ERROR/);
        expect(ours[i]![path], path).to.equal(jinja[i]![path]);
      }
    });
  });

  it("renders the parameters themselves, not the fallbacks, when they are given", () => {
    const i = Object.keys(CASES).indexOf("every parameter");
    expect(jinja[i]!["Cfg/etc/resolv.conf/resolv.conf.jinja2"]).to.contain("search hpc.example.org\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n");
    expect(jinja[i]!["Cfg/var/spool/torque/server_name/server_name.jinja2"]).to.equal("head\n");
    expect(jinja[i]!["Cfg/var/spool/torque/server_priv/nodes/nodes.jinja2"]).to.equal("w1 np=4\nw2 np=4\n");
    expect(jinja[i]!["Cfg/var/spool/torque/mom_priv/config/config.jinja2"]).to.contain("$pbsserver head\n");
    expect(jinja[i]!["Cfg/etc/hosts/hosts.jinja2"]).to.contain("10.1.0.2\tw1.hpc.example.org w1\n# w2: no address parameter\n");
  });

  it("falls back to the clients.xml cluster when there are no parameters", () => {
    const i = Object.keys(CASES).indexOf("an empty parameter object");
    expect(jinja[i]!["Cfg/var/spool/torque/server_name/server_name.jinja2"]).to.equal("node0\n");
    expect(jinja[i]!["Cfg/var/spool/torque/server_priv/nodes/nodes.jinja2"]).to.equal("node1 np=1\nnode2 np=1\nnode3 np=1\nnode4 np=1\n");
    expect(jinja[i]!["Cfg/etc/resolv.conf/resolv.conf.jinja2"]).to.contain("search cluster.local\n");
  });
});
