// The stock Python Bcfg2 client (the upstream kit, unchanged) on an appliance whose parameters were
// delivered as /etc/vacfg/context.xml: the example repository's vacfg-context probe reads that file,
// and the vacfg server turns what it sends into the same configuration as the vacfg agent's own
// context probe data: the same derived head/worker groups (Bundler), templates (resolv.conf, slurm
// files) and the users of the signed `users` parameter — entry for entry the same GetConfig.
import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { contextProbeData } from "../../../agent/context-probe.js";
import { createLogger } from "../../../agent/log.js";
import { parseContextTemplate } from "../../../protocol/ctx-template.js";
import { serializeParameterFile } from "../../../protocol/params.js";
import { descendants, parseXml } from "../../../protocol/xml.js";
import { assemble, type AssembledNode } from "../../../hypervisor/ctx/assemble.js";
import { writeSiteCa } from "../../../hypervisor/ctx/site-ca.js";
import { TORQUE_CONTEXT_TEMPLATE, figure1Site } from "../../../demo/torque-appliance.js";
import { configEntries, probeData } from "../../compat/sites.js";
import { ensureUpstreamInstalled, runRealClient, upstreamCall } from "../../support/upstream-bcfg2.js";
import { startTestSite, type TestSite } from "../http/site.js";

const PASSWORD = "labsecret";
// Names, users and keys that appear nowhere in the repository.
const USERS = [{ name: "quill", value: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIQuillStockClientKeyxxxxxxxxxxxxxxxxxxxxx quill@lab" }];

describe("Context: the stock Bcfg2 client's vacfg-context probe reads the delivered parameter file", function () {
  this.timeout(300_000);
  let site: TestSite;
  let nodes: AssembledNode[];
  let roots: Map<string, string>;

  before(async function () {
    if (!ensureUpstreamInstalled()) throw new Error("the upstream Bcfg2 kit is not installed (shared/bcfg2-ref/setup.sh, as root)");
    site = await startTestSite();
    // the site's signing key that `vacfg init` wrote; the server checks with its public half
    const siteDef = figure1Site(writeSiteCa(join(site.dir, "site-ca")), join(site.dir, "ctx-signing.key"));
    nodes = assemble(parseContextTemplate(TORQUE_CONTEXT_TEMPLATE, "torque"), siteDef, { names: ["strix7", "strix9"], users: USERS });
    roots = new Map();
    for (const n of nodes) {
      const root = join(site.dir, "roots", n.fqdn);
      mkdirSync(join(root, "etc/vacfg"), { recursive: true });
      writeFileSync(join(root, "etc/vacfg/context.xml"), serializeParameterFile(n.params, n.signature), { mode: 0o600 });
      roots.set(n.fqdn, root);
    }
  });
  after(async () => site?.cleanup());

  it("the probe's output is the agent's context probe data, byte for byte, and both give the same GetConfig", async () => {
    const agentLog = createLogger("error", "agent", { out: () => undefined, err: () => undefined });
    for (const n of nodes) {
      const root = roots.get(n.fqdn)!;
      const run = await runRealClient(site.server.url, n.fqdn, PASSWORD, [], { VACFG_CONTEXT_FILE: join(root, "etc/vacfg/context.xml") });
      expect(run.status, run.output).to.equal(0);
      const stock = (await site.server.core.store.getProbeData(n.fqdn))?.values.find((v) => v.name === "vacfg-context")?.value;
      const fromStock = (await upstreamCall(site.server.url, n.fqdn, PASSWORD, "GetConfig")).trim();

      const agentItem = (await contextProbeData(root, agentLog))!;
      expect(stock, n.fqdn).to.equal(agentItem.output);
      expect(await upstreamCall(site.server.url, n.fqdn, PASSWORD, "RecvProbeData", probeData([[agentItem.name, agentItem.output]]))).to.match(/true/i);
      const fromAgent = (await upstreamCall(site.server.url, n.fqdn, PASSWORD, "GetConfig")).trim();
      expect([...configEntries(fromStock)], n.fqdn).to.deep.equal([...configEntries(fromAgent)]);

      // ...and that configuration is the parameters' doing
      const cfg = parseXml(fromStock);
      const bundles = cfg.children.map((b) => b.attrs.name);
      const head = n === nodes[0];
      // the head role is derived from the signed nodenames (a registered client starts as a worker)
      if (head) expect(bundles, n.fqdn).to.include("slurm-head").and.not.include("slurm-worker");
      else expect(bundles, n.fqdn).to.include("slurm-worker").and.not.include("slurm-head");
      expect(bundles).to.include("context-users");
      expect(descendants(cfg, "POSIXUser").filter((u) => u.attrs.name === "quill").map((u) => u.attrs.uid)).to.deep.equal(["2001"]);
      const file = (name: string) => descendants(cfg, "Path").find((p) => p.attrs.name === name)?.text ?? "";
      expect(file("/etc/resolv.conf")).to.contain("nameserver 10.0.0.1").and.contain("search cluster");
      expect(file("/etc/slurm/slurm.conf")).to.match(/^SlurmctldHost=strix7\(10\.0\.0\.\d+\)$/m).and.match(/^NodeName=strix9 NodeAddr=10\.0\.0\.\d+ /m);
    }
  });

  it("without a parameter file the probe prints {} and the client's run still completes", async () => {
    const run = await runRealClient(site.server.url, "strix5.cluster", PASSWORD, [], { VACFG_CONTEXT_FILE: join(site.dir, "missing.xml") });
    expect(run.status, run.output).to.equal(0);
    expect((await site.server.core.store.getProbeData("strix5.cluster"))?.values.find((v) => v.name === "vacfg-context")?.value).to.equal("{}");
  });

  it("a file that is not a parameter file gives {} and the reason on the probe's stderr, not a failed run", async () => {
    const bad = join(site.dir, "broken.xml");
    writeFileSync(bad, "<Parameters><Param name='x'>");
    const run = await runRealClient(site.server.url, "strix6.cluster", PASSWORD, [], { VACFG_CONTEXT_FILE: bad });
    expect(run.status, run.output).to.equal(0);
    expect((await site.server.core.store.getProbeData("strix6.cluster"))?.values.find((v) => v.name === "vacfg-context")?.value).to.equal("{}");
  });
});
