// SSHbase: host keys generated once per client into SSHbase/ (never regenerated, once even
// under concurrent requests), served with upstream's modes, and ssh_known_hosts listing every client.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SSHbasePlugin } from "../../../../server/plugins/sshbase/index.js";
import { bindPath, clientMeta, pluginContext, tempRepo, xml, type TempRepo } from "../cfg/plugin-fixture.js";

describe("SSHbase", function () {
  this.timeout(120_000);
  let repo: TempRepo;
  let plugin: SSHbasePlugin;
  const node0 = clientMeta("node0", { groups: ["head"], aliases: ["head.lab.example"], addresses: ["10.0.0.10"] });
  const node1 = clientMeta("node1.lab.example", { groups: ["compute"], addresses: ["10.0.0.11"] });
  const node2 = clientMeta("node2", { groups: ["compute"] });
  const keyFiles = () => readdirSync(join(repo.root, "SSHbase")).filter((n) => n.startsWith("ssh_host_")).sort();

  before(() => {
    repo = tempRepo();
    plugin = new SSHbasePlugin(pluginContext(repo.root, [node0, node1, node2]));
  });
  after(() => repo.cleanup());

  it("handles the known_hosts and host key paths", () => {
    expect([...plugin.entryNames("Path")]).to.include.members([
      "/etc/ssh/ssh_known_hosts",
      "/etc/ssh/ssh_host_ed25519_key",
      "/etc/ssh/ssh_host_ed25519_key.pub",
      "/etc/ssh/ssh_host_rsa_key",
      "/etc/ssh/ssh_host_ecdsa_key.pub",
    ]);
  });

  it("generates a new client's keys once under concurrent requests and serves them with upstream's attributes", async () => {
    const names = ["ed25519", "rsa", "ecdsa"].flatMap((t) => [`/etc/ssh/ssh_host_${t}_key`, `/etc/ssh/ssh_host_${t}_key.pub`]);
    // Two "GetConfigs" at once, each binding every key entry.
    const [a, b] = await Promise.all([
      Promise.all(names.map((n) => bindPath(plugin, n, node0))),
      Promise.all(names.map((n) => bindPath(plugin, n, node0))),
    ]);
    expect(keyFiles()).to.deep.equal([
      "ssh_host_ecdsa_key.H_node0",
      "ssh_host_ecdsa_key.pub.H_node0",
      "ssh_host_ed25519_key.H_node0",
      "ssh_host_ed25519_key.pub.H_node0",
      "ssh_host_rsa_key.H_node0",
      "ssh_host_rsa_key.pub.H_node0",
    ]);
    expect(a!.map((e) => e.text)).to.deep.equal(b!.map((e) => e.text));
    const priv = a![0]!;
    const pub = a![1]!;
    expect(priv.attrs.failure).to.equal(undefined);
    expect(xml(priv)).to.match(/^<Path name="\/etc\/ssh\/ssh_host_ed25519_key" owner="root" group="root" type="file" mode="0600">-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(xml(pub)).to.match(/^<Path name="\/etc\/ssh\/ssh_host_ed25519_key\.pub" owner="root" group="root" type="file" mode="0644">ssh-ed25519 \S+ root@node0\n<\/Path>$/);
    // The served pair belongs together, and the private key file is not world-readable in the repo.
    const derived = execFileSync("ssh-keygen", ["-y", "-f", join(repo.root, "SSHbase/ssh_host_ed25519_key.H_node0")], { encoding: "utf8" });
    expect(derived.split(" ").slice(0, 2)).to.deep.equal(pub.text!.split(" ").slice(0, 2));
    expect(statSync(join(repo.root, "SSHbase/ssh_host_ed25519_key.H_node0")).mode & 0o777).to.equal(0o600);
  });

  it("never regenerates existing keys", async () => {
    const before = readFileSync(join(repo.root, "SSHbase/ssh_host_rsa_key.H_node0"), "utf8");
    const again = await bindPath(plugin, "/etc/ssh/ssh_host_rsa_key", node0);
    expect(again.text).to.equal(before);
    expect(keyFiles()).to.have.length(6);
  });

  it("builds ssh_known_hosts from every client's public keys with names, aliases and addresses", async () => {
    await bindPath(plugin, "/etc/ssh/ssh_host_rsa_key", node1);
    await bindPath(plugin, "/etc/ssh/ssh_host_rsa_key", node2);
    writeFileSync(join(repo.root, "SSHbase/extra.static"), "gateway ssh-ed25519 AAAAstatic\n");
    const kh = await bindPath(plugin, "/etc/ssh/ssh_known_hosts", node2);
    expect(kh.attrs.failure).to.equal(undefined);
    expect(Object.keys(kh.attrs)).to.deep.equal(["name", "owner", "group", "type", "mode"]);
    expect(kh.attrs.mode).to.equal("0644");
    const lines = kh.text!.trimEnd().split("\n");
    const pub = (host: string, t: string) => readFileSync(join(repo.root, `SSHbase/ssh_host_${t}_key.pub.H_${host}`), "utf8").trimEnd();
    const expected = ["gateway ssh-ed25519 AAAAstatic"];
    for (const t of ["ecdsa", "ed25519", "rsa"]) {
      expected.push(`10.0.0.10,head,head.lab.example,node0 ${pub("node0", t)}`);
      expected.push(`10.0.0.11,node1,node1.lab.example ${pub("node1.lab.example", t)}`);
      expected.push(`node2 ${pub("node2", t)}`);
    }
    for (const t of ["ecdsa", "ed25519", "rsa"]) expected.push(`localhost,localhost.localdomain,127.0.0.1 ${pub("node2", t)}`);
    expect(lines).to.deep.equal(expected);
  });

  it("never reads a client's key through a symlink out of SSHbase/, and leaves that key out of everyone's known_hosts", async () => {
    const outside = join(repo.root, "outside-secret.pub");
    writeFileSync(outside, "ssh-ed25519 SECRETOUTSIDE\n");
    for (const t of ["ecdsa", "ed25519", "rsa"]) {
      const slot = join(repo.root, `SSHbase/ssh_host_${t}_key.pub.H_node2`);
      rmSync(slot, { force: true });
      symlinkSync(outside, slot);
    }
    const pub = await bindPath(plugin, "/etc/ssh/ssh_host_ed25519_key.pub", node2);
    expect(pub.text).to.equal(undefined);
    expect(pub.attrs.failure).to.match(/outside/);
    const kh = await bindPath(plugin, "/etc/ssh/ssh_known_hosts", node0);
    expect(kh.attrs.failure).to.equal(undefined);
    expect(kh.text).to.include("node0").and.not.include("SECRETOUTSIDE");
  });

  it("prefers a static SSHbase/ssh_known_hosts file when there is one", async () => {
    writeFileSync(join(repo.root, "SSHbase/ssh_known_hosts"), "fixed\n");
    expect((await bindPath(plugin, "/etc/ssh/ssh_known_hosts", node0)).text).to.equal("fixed\n");
  });

  it("generates a new client's keys in-process (no ssh-keygen program), each one OpenSSH loads", async () => {
    const node3 = clientMeta("node3");
    const path = process.env.PATH;
    process.env.PATH = join(repo.root, "no-programs-here");
    let served;
    try {
      served = await Promise.all(["ed25519", "rsa", "ecdsa"].map((t) => bindPath(plugin, `/etc/ssh/ssh_host_${t}_key.pub`, node3)));
    } finally {
      process.env.PATH = path;
    }
    for (const [i, t] of ["ed25519", "rsa", "ecdsa"].entries()) {
      expect(served[i]!.attrs.failure, t).to.equal(undefined);
      const derived = execFileSync("ssh-keygen", ["-y", "-f", join(repo.root, `SSHbase/ssh_host_${t}_key.H_node3`)], { encoding: "utf8" });
      expect(derived, t).to.equal(served[i]!.text);
      expect(derived, t).to.match(new RegExp(`^${t === "rsa" ? "ssh-rsa" : t === "ecdsa" ? "ecdsa-sha2-nistp256" : "ssh-ed25519"} \\S+ root@node3\n$`));
    }
    const bits = execFileSync("ssh-keygen", ["-l", "-f", join(repo.root, "SSHbase/ssh_host_rsa_key.pub.H_node3")], { encoding: "utf8" });
    expect(bits.split(" ")[0], "ssh-keygen's default RSA size").to.equal("3072");
  });
});
