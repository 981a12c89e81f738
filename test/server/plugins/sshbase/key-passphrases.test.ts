// Generated private keys stored encrypted, as upstream does: SSHbase's host keys with [sshbase]
// passphrase, Cfg privkey.xml keys with [sshkeys] passphrase (and [sshkeys] category). The files are
// Bcfg2's .crypt format: upstream's bcfg2-crypt decrypts what vacfg wrote, and vacfg serves what
// bcfg2-crypt encrypted. Public keys stay plain.
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadServerConfig } from "../../../../server/admin/server-config.js";
import { initSite } from "../../../../server/admin/init.js";
import { CfgPlugin } from "../../../../server/plugins/cfg/index.js";
import { encryptionSettings } from "../../../../server/plugins/shared/encryption.js";
import { SSHbasePlugin } from "../../../../server/plugins/sshbase/index.js";
import { upstreamCrypt } from "../../../support/upstream-bcfg2.js";
import { bindPath, clientMeta, pluginContext, tempRepo, type TempRepo } from "../cfg/plugin-fixture.js";

const ENCRYPTION = "[encryption]\nsite = correct horse battery staple\nother = tr0ub4dor&3\n";

function encryption() {
  return encryptionSettings(
    new Map([
      ["site", { value: "correct horse battery staple", line: 2 }],
      ["other", { value: "tr0ub4dor&3", line: 3 }],
    ]),
    "test",
  );
}

describe("private keys encrypted with [sshbase] / [sshkeys] passphrases", function () {
  this.timeout(120_000);
  let repo: TempRepo;
  let conf: string;
  const node0 = clientMeta("node0", { groups: ["web", "rack1"], categories: { rack: "rack1" } });
  const node9 = clientMeta("node9", { groups: ["web"] });
  before(() => {
    repo = tempRepo();
    conf = repo.write("bcfg2.conf", ENCRYPTION);
  });
  after(() => repo.cleanup());

  it("SSHbase writes private host keys as .crypt, serves them decrypted, and bcfg2-crypt opens them", async () => {
    const ctx = pluginContext(repo.root, [node0, node9]);
    ctx.settings.encryption = encryption();
    ctx.settings.sshbasePassphrase = "site";
    const plugin = new SSHbasePlugin(ctx);
    const priv = await bindPath(plugin, "/etc/ssh/ssh_host_ed25519_key", node0);
    const pub = await bindPath(plugin, "/etc/ssh/ssh_host_ed25519_key.pub", node0);
    expect(priv.attrs.failure).to.equal(undefined);
    expect(priv.text).to.include("BEGIN OPENSSH PRIVATE KEY");
    expect(readdirSync(join(repo.root, "SSHbase")).filter((n) => n.includes("node0")).sort()).to.deep.equal([
      "ssh_host_ecdsa_key.H_node0.crypt",
      "ssh_host_ecdsa_key.pub.H_node0",
      "ssh_host_ed25519_key.H_node0.crypt",
      "ssh_host_ed25519_key.pub.H_node0",
      "ssh_host_rsa_key.H_node0.crypt",
      "ssh_host_rsa_key.pub.H_node0",
    ]);
    const stored = join(repo.root, "SSHbase/ssh_host_ed25519_key.H_node0.crypt");
    expect(readFileSync(stored, "utf8")).to.match(/^U2FsdGVkX1/).and.not.include("PRIVATE KEY");
    expect(readFileSync(join(repo.root, "SSHbase/ssh_host_ed25519_key.pub.H_node0"), "utf8")).to.equal(pub.text);
    const up = await upstreamCrypt(conf, ["--decrypt", "--cfg", "--stdout", stored]);
    expect(up.stdout.trim()).to.equal(priv.text!.trim());
    // vacfg pull of a private host key keeps it encrypted
    const written = await plugin.acceptPullData({ kind: "host", hostname: "node0" }, { tag: "Path", name: "/etc/ssh/ssh_host_rsa_key", content: Buffer.from("pulled key\n") }, node0);
    expect(written).to.deep.equal([join(repo.root, "SSHbase/ssh_host_rsa_key.H_node0.crypt")]);
    expect(readFileSync(written[0]!, "utf8")).to.match(/^U2FsdGVkX1/);
    expect((await bindPath(plugin, "/etc/ssh/ssh_host_rsa_key", node0)).text).to.equal("pulled key\n");
  });

  it("SSHbase serves a host key bcfg2-crypt encrypted (any [encryption] passphrase), and refuses one none opens", async () => {
    const ctx = pluginContext(repo.root, [node0, node9]);
    ctx.settings.encryption = encryption();
    const plugin = new SSHbasePlugin(ctx);
    const key = (await bindPath(new SSHbasePlugin(pluginContext(mkdtempSync(join(tmpdir(), "vacfg-key-")))), "/etc/ssh/ssh_host_rsa_key", node9)).text!;
    const plain = repo.write("SSHbase/ssh_host_rsa_key.H_node9", key);
    await upstreamCrypt(conf, ["--encrypt", "--cfg", "--remove", "-p", "other", plain]);
    expect(readdirSync(join(repo.root, "SSHbase")).filter((n) => n.startsWith("ssh_host_rsa_key.H_node9"))).to.deep.equal(["ssh_host_rsa_key.H_node9.crypt"]);
    const served = await bindPath(plugin, "/etc/ssh/ssh_host_rsa_key", node9);
    expect(served.attrs.failure, served.attrs.failure).to.equal(undefined);
    expect(served.text).to.equal(key);
    writeFileSync(join(repo.root, "SSHbase/ssh_host_ecdsa_key.H_node8.crypt"), "U2FsdGVkX1+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
    const bad = await bindPath(plugin, "/etc/ssh/ssh_host_ecdsa_key", clientMeta("node8"));
    expect(bad.attrs.failure).to.match(/SSHbase: Failed to decrypt .*ssh_host_ecdsa_key\.H_node8\.crypt/);
  });

  it("Cfg privkey.xml: [sshkeys] passphrase encrypts the private key, [sshkeys] category makes it the group's", async () => {
    repo.write("Cfg/root/.ssh/id_ed25519/privkey.xml", '<PrivateKey><Params type="ed25519"/></PrivateKey>');
    repo.write("Cfg/root/.ssh/id_ed25519.pub/pubkey.xml", "<PublicKey/>");
    const ctx = pluginContext(repo.root, [node0]);
    ctx.settings.encryption = encryption();
    ctx.settings.sshKeys = { passphrase: "site", category: "rack" };
    const cfg = new CfgPlugin(ctx);
    const priv = await bindPath(cfg, "/root/.ssh/id_ed25519", node0);
    const pub = await bindPath(cfg, "/root/.ssh/id_ed25519.pub", node0);
    expect(priv.attrs.failure, priv.attrs.failure).to.equal(undefined);
    expect(readdirSync(join(repo.root, "Cfg/root/.ssh/id_ed25519")).sort()).to.deep.equal(["id_ed25519.G50_rack1.crypt", "privkey.xml"]);
    expect(readdirSync(join(repo.root, "Cfg/root/.ssh/id_ed25519.pub")).sort()).to.deep.equal(["id_ed25519.pub.G50_rack1", "pubkey.xml"]);
    const stored = join(repo.root, "Cfg/root/.ssh/id_ed25519/id_ed25519.G50_rack1.crypt");
    const up = await upstreamCrypt(conf, ["--decrypt", "--cfg", "--stdout", stored]);
    expect(up.stdout.trim()).to.equal(priv.text!.trim());
    // served again from the .crypt file (not generated again), and the public key matches it
    const again = await bindPath(new CfgPlugin(ctx), "/root/.ssh/id_ed25519", node0);
    expect(again.text).to.equal(priv.text);
    expect(pub.text).to.match(/^ssh-ed25519 /);
  });

  it("vacfg.conf: [sshkeys]/[sshbase] passphrase must name an [encryption] passphrase", () => {
    const dir = mkdtempSync(join(tmpdir(), "vacfg-sshkeys-conf-"));
    try {
      const { configPath } = initSite(dir, { hostname: "localhost" });
      writeFileSync(configPath, `${readFileSync(configPath, "utf8")}\n${ENCRYPTION}\n[sshkeys]\npassphrase = Site\ncategory = rack\n\n[sshbase]\npassphrase = other\n`);
      const settings = loadServerConfig(configPath).settings;
      expect(settings.sshKeys).to.deep.equal({ category: "rack", passphrase: "site" });
      expect(settings.sshbasePassphrase).to.equal("other");
      writeFileSync(configPath, `${readFileSync(configPath, "utf8").replace("passphrase = other", "passphrase = nosuch")}`);
      expect(() => loadServerConfig(configPath)).to.throw(/vacfg\.conf:\d+: passphrase "nosuch" is not a passphrase of \[encryption\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
