// Compatibility with the real upstream Bcfg2 server: on the lab repository, with the same
// probe data, every Cfg entry our plugin binds for node0 and node4 is byte-identical to the
// entry in upstream's GetConfig, the Cheetah-rendered mom_priv/config included.
import { expect } from "chai";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { descendants, parseXml, serializeXml, type XmlElement } from "../../../../protocol/xml.js";
import { CfgPlugin } from "../../../../server/plugins/cfg/index.js";
import { bcfg2RefKit, transcriptsDir } from "../../../support/paths.js";
import { ensureUpstreamInstalled, startUpstreamServer, upstreamCall, type UpstreamServer } from "../../../support/upstream-bcfg2.js";
import { bindPath, clientMeta, pluginContext, probeValue, propertiesConnector } from "./plugin-fixture.js";

const LAB_GROUPS: Record<string, { profile: string; groups: string[]; password: string }> = {
  node0: { profile: "torque-head", groups: ["bookworm", "cluster", "debian", "linux", "torque-head", "torque-server"], password: "node0secret" },
  node4: { profile: "torque-client", groups: ["bookworm", "cluster", "debian", "linux", "torque-client", "torque-mom"], password: "labsecret" },
};

describe("Cfg against the upstream Bcfg2 server (lab repository)", function () {
  this.timeout(300_000);
  let repo: string;
  let server: UpstreamServer | undefined;
  const upstreamConfigs = new Map<string, XmlElement>();
  /** Metadata as upstream builds it for the lab clients after the probe data below. */
  const metaFor = (name: string) => {
    const l = LAB_GROUPS[name]!;
    const props = propertiesConnector(
      Object.fromEntries(["cluster.xml", "hostkeys.xml"].map((f) => [f, readFileSync(join(repo, "Properties", f), "utf8")])),
    );
    return clientMeta(name, { profile: l.profile, groups: l.groups, connectors: { Probes: { cpus: probeValue("2\n") }, Properties: props } });
  };

  before(async function () {
    expect(ensureUpstreamInstalled(), "upstream Bcfg2 reference").to.equal(true);
    repo = mkdtempSync(join(tmpdir(), "vacfg-cfg-compat-"));
    cpSync(join(bcfg2RefKit, "repo"), repo, { recursive: true });
    // Our key creators make the per-host SSH keys (privkey.xml/pubkey.xml) first, so upstream
    // serves the very same files. (Left to itself, upstream can generate a key twice in one
    // run, its file monitor not having seen the first yet, and serve mismatched halves.)
    const creator = new CfgPlugin(pluginContext(repo, [metaFor("node0"), metaFor("node4")]));
    for (const client of Object.keys(LAB_GROUPS)) {
      const e = await bindPath(creator, "/root/.ssh/id_rsa.pub", metaFor(client));
      expect(e.attrs.failure).to.equal(undefined);
    }
    server = await startUpstreamServer(repo);
    const probeData = readFileSync(join(transcriptsDir, "01-node0-dryrun/03-RecvProbeData.request.payload.xml"), "utf8");
    for (const [client, { password }] of Object.entries(LAB_GROUPS)) {
      await upstreamCall(server.url, client, password, "DeclareVersion", "1.4.0pre2");
      await upstreamCall(server.url, client, password, "GetProbes");
      await upstreamCall(server.url, client, password, "RecvProbeData", probeData);
      upstreamConfigs.set(client, parseXml(await upstreamCall(server.url, client, password, "GetConfig")));
    }
  });

  after(async () => {
    await server?.stop();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  for (const client of Object.keys(LAB_GROUPS)) {
    it(`binds every Cfg entry of ${client} exactly as upstream does`, async () => {
      const cfg = new CfgPlugin(pluginContext(repo, [metaFor("node0"), metaFor("node4")]));
      const names = cfg.entryNames("Path");
      const upstreamEntries = descendants(upstreamConfigs.get(client)!, "Path").filter((e) => names.has(e.attrs.name ?? ""));
      expect(upstreamEntries.length).to.be.greaterThan(8);
      const compared: string[] = [];
      for (const theirs of upstreamEntries) {
        const name = theirs.attrs.name!;
        const ours = await bindPath(cfg, name, metaFor(client));
        delete theirs.tail;
        expect(serializeXml(ours), name).to.equal(serializeXml(theirs));
        compared.push(name);
      }
      expect(compared).to.include.members(["/etc/motd", "/etc/hosts", "/etc/resolv.conf", "/etc/torque/cpus", "/etc/torque/logo.bin", "/etc/torque/empty.conf", "/root/.ssh/authorized_keys", "/root/.ssh/id_rsa", "/root/.ssh/id_rsa.pub"]);
      // config.cheetah: only the Torque moms (node4) get it.
      if (client === "node4") expect(compared).to.include("/var/spool/torque/mom_priv/config");
    });
  }
});
