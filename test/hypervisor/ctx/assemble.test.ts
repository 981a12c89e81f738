// Assembly of a 5-node Torque cluster from Figure 1 values: names, unique addresses, host
// certificates that verify against the site CA with SAN = name + IP, real ssh host keys,
// and CTX_BINDING refusals that name the parameter.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseContextTemplate } from "../../../protocol/ctx-template.js";
import { VacfgError } from "../../../protocol/errors.js";
import { parseParameterFile, parseSignedParameterFile, paramValues, serializeParameterFile } from "../../../protocol/params.js";
import { parseEd25519Key } from "../../../protocol/ed25519-key.js";
import { parametersRefusal } from "../../../protocol/params-signature.js";
import { assemble } from "../../../hypervisor/ctx/assemble.js";
import { assembleCommand } from "../../../hypervisor/ctx/index.js";
import { loadSiteFile, validateInstanceRequest, validateSiteFile, type InstanceRequest } from "../../../hypervisor/ctx/site.js";
import { ALICE_KEY, BOB_KEY, makeSiteSandbox, TORQUE_TEMPLATE, type SiteSandbox } from "../../support/figure1.js";

function bindingError(fn: () => unknown): VacfgError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(VacfgError);
    expect((e as VacfgError).code).to.equal("CTX_BINDING");
    return e as VacfgError;
  }
  throw new Error("expected CTX_BINDING");
}

describe("assembly (hypervisor/ctx/assemble.ts)", () => {
  let sb: SiteSandbox;
  before(() => {
    sb = makeSiteSandbox();
  });
  after(() => sb.cleanup());

  const template = () => parseContextTemplate(TORQUE_TEMPLATE, "torque.ctx.xml");
  const users = [{ name: "alice", value: ALICE_KEY }, { name: "bob", value: BOB_KEY }];

  it("binds Figure 1 values for a 5-node cluster, one file per node", () => {
    const nodes = assemble(template(), loadSiteFile(sb.sitePath), { count: 5, users });
    expect(nodes.map((n) => n.fqdn)).to.deep.equal(["node1.cluster", "node2.cluster", "node3.cluster", "node4.cluster", "node5.cluster"]);
    // 10.0.0.11 is reserved in the site file, so node2 skips it
    expect(nodes.map((n) => n.address)).to.deep.equal(["10.0.0.10", "10.0.0.12", "10.0.0.13", "10.0.0.14", "10.0.0.15"]);
    for (const n of nodes) {
      expect(paramValues(n.params, "DNSServer")).to.deep.equal(["10.0.0.1", "10.0.0.2"]);
      expect(paramValues(n.params, "nodenames")).to.deep.equal(nodes.map((m) => m.fqdn));
      expect(n.params.get("users")).to.deep.equal({ kind: "list", items: users });
      expect(paramValues(n.params, "domain")).to.deep.equal(["cluster"]);
      expect(paramValues(n.params, "hostname")).to.deep.equal([n.fqdn]);
      expect(paramValues(n.params, "address")).to.deep.equal([n.address]);
      expect(paramValues(n.params, "headnode")).to.deep.equal(["node1.cluster"]);
      expect(n.secret).to.equal(true);
      expect(n.secretNames).to.deep.equal(["hostcert", "sshhostkey", "mungekey", "rootpw"]);
      // the file lists parameters in template order and parses back to the same value
      expect([...n.params.keys()]).to.deep.equal(template().params.map((p) => p.name));
      expect(parseParameterFile(serializeParameterFile(n.params))).to.deep.equal(n.params);
    }
    // one MUNGE key for the whole deployment, and every node knows every node's own public host key
    const munge = nodes.map((n) => paramValues(n.params, "mungekey")[0]);
    expect(new Set(munge).size).to.equal(1);
    expect(munge[0]).to.match(/^[A-Za-z0-9_-]{64}$/);
    const ownPublic = nodes.map((n) => {
      const k = n.params.get("sshhostkey");
      return k?.kind === "list" ? k.items.find((i) => i.name === "public")!.value : "";
    });
    for (const n of nodes) {
      expect(n.params.get("sshknownhosts")).to.deep.equal({ kind: "list", items: nodes.map((m, i) => ({ name: m.fqdn, value: ownPublic[i] })) });
    }
    expect(new Set(ownPublic).size).to.equal(5);
    const pw = nodes.map((n) => paramValues(n.params, "rootpw")[0]);
    expect(new Set(pw).size).to.equal(5);
    expect(pw[0]).to.match(/^[A-Za-z0-9_-]{24}$/);
    expect(new Set(nodes.map((n) => n.mac)).size).to.equal(5);
  });

  it("issues host certificates that verify against the site CA with SAN = DNS name + IP", () => {
    const nodes = assemble(template(), loadSiteFile(sb.sitePath), { count: 5, users });
    const ca = new X509Certificate(readFileSync(sb.caCert));
    for (const n of nodes) {
      const hc = n.params.get("hostcert");
      if (hc?.kind !== "list") throw new Error("hostcert is not a list");
      const byName = Object.fromEntries(hc.items.map((i) => [i.name, i.value]));
      const cert = new X509Certificate(byName.cert);
      expect(cert.verify(ca.publicKey), n.fqdn).to.equal(true);
      expect(cert.checkIssued(ca)).to.equal(true);
      expect(cert.subject).to.equal(`CN=${n.fqdn}`);
      expect(cert.subjectAltName).to.equal(`DNS:${n.fqdn}, IP Address:${n.address}`);
      expect(cert.checkHost(n.fqdn)).to.equal(n.fqdn);
      expect(cert.checkIP(n.address!)).to.equal(n.address);
      expect(byName.ca).to.equal(readFileSync(sb.caCert, "utf8"));
      // the key in the file is the certificate's key
      const pub = createPublicKey(createPrivateKey(byName.key)).export({ type: "spki", format: "der" });
      expect(Buffer.compare(pub, cert.publicKey.export({ type: "spki", format: "der" }))).to.equal(0);
      // and OpenSSL agrees the chain verifies
      const certFile = join(sb.dir, `${n.name}.pem`);
      writeFileSync(certFile, byName.cert);
      const v = spawnSync("openssl", ["verify", "-CAfile", sb.caCert, certFile], { encoding: "utf8" });
      if (!v.error) expect(v.stdout.trim()).to.equal(`${certFile}: OK`);
    }
  });

  it("generates ed25519 ssh host keys in OpenSSH format that ssh-keygen reads", function () {
    const [n] = assemble(template(), loadSiteFile(sb.sitePath), { count: 1, users });
    const k = n.params.get("sshhostkey");
    if (k?.kind !== "list") throw new Error("sshhostkey is not a list");
    const priv = k.items.find((i) => i.name === "private")!.value;
    const pub = k.items.find((i) => i.name === "public")!.value;
    expect(priv).to.match(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(pub).to.match(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\S+ root@node1\.cluster$/);
    const keyFile = join(sb.dir, "ssh_host_ed25519_key");
    writeFileSync(keyFile, priv, { mode: 0o600 });
    const r = spawnSync("ssh-keygen", ["-y", "-f", keyFile], { encoding: "utf8" });
    expect(r.error, "ssh-keygen (openssh-client)").to.equal(undefined);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(pub);
  });

  it("never hands out an address twice, and refuses when the pool runs dry", () => {
    const site = loadSiteFile(sb.sitePath);
    site.pools.cluster.range = ["10.0.0.10", "10.0.0.13"];
    const e = bindingError(() => assemble(template(), site, { count: 5, users }));
    expect(e.message).to.contain('pool "cluster": no free address left for node4.cluster');
    const three = assemble(template(), site, { count: 3, users, reservedAddresses: [] });
    expect(three.map((n) => n.address)).to.deep.equal(["10.0.0.10", "10.0.0.12", "10.0.0.13"]);
  });

  it("refuses a missing required parameter, naming it", () => {
    const e = bindingError(() => assemble(template(), loadSiteFile(sb.sitePath), { count: 2 }));
    expect(e.message).to.match(/^Param "users": required instance parameter has no value/);
    const site = loadSiteFile(sb.sitePath);
    site.dnsServers = [];
    expect(bindingError(() => assemble(template(), site, { count: 1, users })).message).to.match(/^Param "DNSServer": required site parameter/);
  });

  it("refuses an unknown parameter name, naming it", () => {
    const e = bindingError(() => assemble(template(), loadSiteFile(sb.sitePath), { count: 2, users, params: { DNSServers: ["10.0.0.9"] } }));
    expect(e.message).to.match(/^Param "DNSServers": unknown parameter/);
  });

  it("refuses a type mismatch (list given for value, value for list), naming the parameter", () => {
    const req = (params: InstanceRequest["params"]): InstanceRequest => ({ count: 1, users, params });
    const e1 = bindingError(() => assemble(template(), loadSiteFile(sb.sitePath), req({ headnode: ["a", "b"] })));
    expect(e1.message).to.match(/^Param "headnode": type mismatch: list given for value/);
    const e2 = bindingError(() => assemble(template(), loadSiteFile(sb.sitePath), req({ DNSServer: "10.0.0.9" })));
    expect(e2.message).to.match(/^Param "DNSServer": type mismatch: value given for list/);
    const e3 = bindingError(() => assemble(template(), loadSiteFile(sb.sitePath), { count: 1, users: undefined, params: { users: ["alice"] } }));
    expect(e3.message).to.match(/^Param "users": type mismatch: list given for named-list/);
  });

  it("refuses malformed site files and requests, naming the field", () => {
    expect(bindingError(() => validateSiteFile({ domain: "cluster", pools: { cluster: { cidr: "10.0.0.0/33" } } }, "site.json")).message).to.contain("site.json: pools.cluster");
    expect(bindingError(() => validateSiteFile({ dnsServers: ["10.0.0.1"] }, "site.json")).message).to.contain("site.json: domain");
    expect(bindingError(() => validateInstanceRequest({ count: 0 }, "req.json")).message).to.contain("req.json: count");
    expect(bindingError(() => validateSiteFile({ domain: "c", pools: { p: { cidr: "10.0.0.0/24", range: ["10.0.1.1", "10.0.1.9"] } } })).message).to.contain("not inside 10.0.0.0/24");
  });

  it("lets per-node values win over deployment values", () => {
    const nodes = assemble(template(), loadSiteFile(sb.sitePath), { names: ["head", "worker1"], users, params: { headnode: "head.cluster" }, nodeParams: { head: { headnode: "self" } } });
    expect(nodes.map((n) => paramValues(n.params, "headnode")[0])).to.deep.equal(["self", "head.cluster"]);
  });

  it("assembled again with kept nodes (an update): new users, the same addresses, host keys, certificates and secrets", () => {
    const site = loadSiteFile(sb.sitePath);
    const first = assemble(template(), site, { count: 3, users });
    // addresses kept out of the pool's order: node1 keeps one a fresh assembly would give node3
    const kept = new Map(first.map((n) => [n.fqdn, { address: n.address, params: n.params }]));
    const changed = [{ name: "bob", value: ALICE_KEY }, { name: "carol", value: BOB_KEY }];
    const again = assemble(template(), site, { count: 3, users: changed, reservedAddresses: first.map((n) => n.address!) }, kept);
    for (const [i, n] of again.entries()) {
      expect(n.address).to.equal(first[i].address);
      expect(n.params.get("users")).to.deep.equal({ kind: "list", items: changed });
      for (const p of ["address", "addresses", "hostcert", "sshhostkey", "sshknownhosts", "mungekey", "rootpw", "nodenames"]) {
        expect(n.params.get(p), `${n.fqdn} ${p}`).to.deep.equal(first[i].params.get(p));
      }
    }
    // a parameter the request gives explicitly still wins over the kept one
    const own = assemble(template(), site, { count: 3, users, nodeParams: { node1: { rootpw: "chosen" } } }, kept);
    expect(paramValues(own[0].params, "rootpw")).to.deep.equal(["chosen"]);
    // a kept address another node holds, or one outside the pool, is refused
    const clash = new Map(kept);
    clash.set("node2.cluster", { address: first[0].address, params: first[1].params });
    expect(bindingError(() => assemble(template(), site, { count: 3, users }, clash)).message).to.match(/10\.0\.0\.10 cannot be kept for node2\.cluster: node1\.cluster has it/);
    clash.set("node2.cluster", { address: "10.0.0.200", params: first[1].params });
    expect(bindingError(() => assemble(template(), site, { count: 3, users }, clash)).message).to.match(/10\.0\.0\.200 \(kept for node2\.cluster\) is outside the pool's range/);
  });

  it("assembleCommand writes one parameter file per node (0600: secrets) and a manifest", () => {
    const out = join(sb.dir, "out");
    const r = assembleCommand({ template: sb.templatePath, site: sb.sitePath, request: sb.requestPath, outDir: out });
    expect(r.files.map((f) => f.slice(out.length + 1))).to.deep.equal([1, 2, 3, 4, 5].map((i) => `node${i}.cluster.xml`));
    for (const [i, f] of r.files.entries()) {
      expect(statSync(f).mode & 0o777).to.equal(0o600);
      expect(parseParameterFile(readFileSync(f, "utf8"), f)).to.deep.equal(r.nodes[i].params);
    }
    const manifest = JSON.parse(readFileSync(r.manifest, "utf8"));
    expect(manifest.nodes.map((n: { address: string }) => n.address)).to.deep.equal(r.nodes.map((n) => n.address));
  });

  it("signs each node's file for its FQDN with the site key, created beside the site file when missing", () => {
    const out = join(sb.dir, "signed");
    const keyPath = join(dirname(sb.sitePath), "ctx-signing.key");
    rmSync(keyPath, { force: true });
    rmSync(join(dirname(sb.sitePath), "ctx-signing.pub"), { force: true });
    const r = assembleCommand({ template: sb.templatePath, site: sb.sitePath, request: sb.requestPath, outDir: out });
    expect(statSync(keyPath).mode & 0o777).to.equal(0o600);
    const pub = parseEd25519Key(readFileSync(join(dirname(sb.sitePath), "ctx-signing.pub"), "utf8"), "public", "ctx-signing.pub");
    for (const [i, f] of r.files.entries()) {
      const sp = parseSignedParameterFile(readFileSync(f, "utf8"), f);
      expect(sp.signature?.node).to.equal(r.nodes[i].fqdn);
      expect(parametersRefusal(sp, [r.nodes[i].fqdn], [pub])).to.equal(undefined);
      const other = r.nodes[(i + 1) % r.nodes.length].fqdn;
      expect(parametersRefusal(sp, [other], [pub])).to.equal(`signed for ${r.nodes[i].fqdn}, not for this client`);
    }
    // a second assembly signs with the same key
    const again = assembleCommand({ template: sb.templatePath, site: sb.sitePath, request: sb.requestPath, outDir: join(sb.dir, "signed2") });
    expect(parametersRefusal(parseSignedParameterFile(readFileSync(again.files[0], "utf8")), [again.nodes[0].fqdn], [pub])).to.equal(undefined);
  });
});

