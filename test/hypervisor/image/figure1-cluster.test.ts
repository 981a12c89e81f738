// End to end without boot: Figure 1 values for a 5-node Torque cluster are assembled into
// five parameter files, each patched into its own real ext4 image and read back byte for byte.
import { expect } from "chai";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { CONTEXT_FILE_PATH, parseParameterFile } from "../../../protocol/params.js";
import { assembleCommand, dhcpNodesFrom, dnsmasqConfig } from "../../../hypervisor/ctx/index.js";
import { patchParameterFile } from "../../../hypervisor/image/patch-image.js";
import { makeSiteSandbox, type SiteSandbox } from "../../support/figure1.js";
import { debugfsRaw, e2fsckClean, guestStat, mkExt4 } from "./helpers.js";

describe("Figure 1 cluster: assemble 5 nodes and patch each image", () => {
  let sb: SiteSandbox;
  before(() => {
    sb = makeSiteSandbox();
  });
  after(() => sb.cleanup());

  it("produces 5 distinct parameter files and delivers each into its node's ext4 image", () => {
    const r = assembleCommand({ template: sb.templatePath, site: sb.sitePath, request: sb.requestPath, outDir: join(sb.dir, "params") });
    expect(r.nodes.map((n) => n.fqdn)).to.deep.equal([1, 2, 3, 4, 5].map((i) => `node${i}.cluster`));
    expect(new Set(r.nodes.map((n) => n.address)).size).to.equal(5);
    const base = join(sb.dir, "appliance.ext4");
    mkExt4(base, 16);
    const ca = new X509Certificate(readFileSync(sb.caCert));
    r.nodes.forEach((node, i) => {
      const img = join(sb.dir, `${node.name}.ext4`);
      copyFileSync(base, img);
      patchParameterFile(img, node.params, { secret: node.secret, signature: node.signature });
      const inImage = debugfsRaw(img, `cat ${CONTEXT_FILE_PATH}`);
      expect(inImage.equals(readFileSync(r.files[i])), node.fqdn).to.equal(true);
      expect(guestStat(img, CONTEXT_FILE_PATH)).to.deep.equal({ type: "regular", mode: "0600", uid: 0, gid: 0 });
      e2fsckClean(img);
      // what the node will read is its own identity, signed by the site for its own name
      expect(inImage.toString()).to.contain(`<Parameters node="${node.fqdn}" signature="`);
      const p = parseParameterFile(inImage.toString(), `${img}:${CONTEXT_FILE_PATH}`);
      expect(p.get("address")).to.deep.equal({ kind: "value", value: node.address });
      const hc = p.get("hostcert");
      const cert = new X509Certificate(hc?.kind === "list" ? hc.items[0].value : "");
      expect(cert.verify(ca.publicKey)).to.equal(true);
      expect(cert.subjectAltName).to.equal(`DNS:${node.fqdn}, IP Address:${node.address}`);
    });
    // the same deployment as a DHCP policy: one host line per node, with its assigned address
    const conf = dnsmasqConfig({ cidr: "10.0.0.0/24", nodes: dhcpNodesFrom(r.nodes, (fqdn) => `file:///srv/vacfg/${fqdn}.xml`) });
    for (const n of r.nodes) expect(conf).to.contain(`dhcp-host=${n.mac},`).and.to.contain(`,${n.address},${n.name}\n`);
  });
});
