// privkey.xml / pubkey.xml: an SSH key pair generated once per host into the repository (as
// upstream's creators do), then served as plain host-specific files; hostile names stay inside Cfg/.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CfgPlugin } from "../../../../server/plugins/cfg/index.js";
import { compileGenshi } from "../../../../server/templates/genshi/text.js";
import { bindPath, clientMeta, pluginContext, tempRepo, type TempRepo } from "./plugin-fixture.js";

describe("Cfg key creators and hostile input", function () {
  this.timeout(120_000);
  let repo: TempRepo;
  let cfg: CfgPlugin;
  before(() => {
    repo = tempRepo();
    repo.write("Cfg/root/.ssh/id_ed25519/privkey.xml", `<PrivateKey><Params type="ed25519"/></PrivateKey>`);
    repo.write("Cfg/root/.ssh/id_ed25519/info.xml", `<FileInfo><Info owner="root" group="root" mode="0600"/></FileInfo>`);
    repo.write("Cfg/root/.ssh/id_ed25519.pub/pubkey.xml", `<PublicKey/>`);
    repo.write("Cfg/etc/hosts/hosts", "127.0.0.1 localhost\n");
    cfg = new CfgPlugin(pluginContext(repo.root));
  });
  after(() => repo.cleanup());

  it("generates a host's key pair once, even for concurrent binds, and serves the same files afterwards", async () => {
    const m = clientMeta("node7");
    const [pub1, priv1, pub2, priv2] = await Promise.all([
      bindPath(cfg, "/root/.ssh/id_ed25519.pub", m),
      bindPath(cfg, "/root/.ssh/id_ed25519", m),
      bindPath(cfg, "/root/.ssh/id_ed25519.pub", m),
      bindPath(cfg, "/root/.ssh/id_ed25519", m),
    ]);
    for (const e of [pub1, priv1, pub2, priv2]) expect(e!.attrs.failure).to.equal(undefined);
    expect(priv1!.text).to.equal(priv2!.text).and.match(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    const privFile = join(repo.root, "Cfg/root/.ssh/id_ed25519/id_ed25519.H_node7");
    const pubFile = join(repo.root, "Cfg/root/.ssh/id_ed25519.pub/id_ed25519.pub.H_node7");
    expect(readdirSync(join(repo.root, "Cfg/root/.ssh/id_ed25519")).sort()).to.deep.equal(["id_ed25519.H_node7", "info.xml", "privkey.xml"]);
    expect(readFileSync(privFile, "utf8")).to.equal(priv1!.text);
    expect(statSync(privFile).mode & 0o777).to.equal(0o600);
    // upstream writes the public key with the repository path of its file as comment
    expect(pub1!.text).to.match(new RegExp(`^ssh-ed25519 \\S+ ${pubFile.replace(/[.]/g, "\\.")}\\n$`));
    const derived = execFileSync("ssh-keygen", ["-y", "-f", privFile], { encoding: "utf8" });
    expect(derived.split(" ").slice(0, 2)).to.deep.equal(pub1!.text!.split(" ").slice(0, 2));
    expect(priv1!.attrs.mode).to.equal("0600");
    // Another host gets its own pair; node7's is kept.
    const other = await bindPath(cfg, "/root/.ssh/id_ed25519", clientMeta("node8"));
    expect(other.text).to.not.equal(priv1!.text);
    expect((await bindPath(cfg, "/root/.ssh/id_ed25519", m)).text).to.equal(priv1!.text);
  });

  it("never resolves entry names outside Cfg/", async () => {
    for (const name of ["/../Cfg/etc/hosts", "/etc/../../etc/hosts", "etc/hosts", "/"]) {
      expect(cfg.handlesEntry({ tag: "Path", attrs: { name }, children: [] }), name).to.equal(false);
      expect((await bindPath(cfg, name, clientMeta("n"))).attrs.failure, name).to.match(/^bind error: Cfg has no directory/);
    }
  });

  it("refuses a host-specific file or key slot that is a symlink out of its entry directory (confinedPath)", async () => {
    const outside = join(repo.root, "outside-secret");
    writeFileSync(outside, "SECRET-OUTSIDE\n");
    // A served host file, and a key creator's slot, each a symlink leading out of its directory.
    symlinkSync(outside, join(repo.root, "Cfg/etc/hosts/hosts.H_evil"));
    symlinkSync(outside, join(repo.root, "Cfg/root/.ssh/id_ed25519/id_ed25519.H_evil"));
    symlinkSync(join(repo.root, "nowhere"), join(repo.root, "Cfg/root/.ssh/id_ed25519/id_ed25519.H_dangling"));
    const hosts = await bindPath(cfg, "/etc/hosts", clientMeta("evil"));
    expect(hosts.text).to.equal(undefined);
    expect(hosts.attrs.failure).to.match(/^bind error: refusing "hosts\.H_evil" in .*: resolves to .*outside-secret, outside /);
    const key = await bindPath(cfg, "/root/.ssh/id_ed25519", clientMeta("evil"));
    expect(key.text).to.equal(undefined);
    expect(key.attrs.failure).to.match(/outside/);
    const dangling = await bindPath(cfg, "/root/.ssh/id_ed25519", clientMeta("dangling"));
    expect(dangling.attrs.failure).to.match(/a symbolic link that leads nowhere/);
    expect(existsSync(join(repo.root, "nowhere"))).to.equal(false);
    expect(readFileSync(outside, "utf8")).to.equal("SECRET-OUTSIDE\n");
    // A symlink to a sibling inside the directory is fine.
    symlinkSync("hosts", join(repo.root, "Cfg/etc/hosts/hosts.H_twin"));
    expect((await bindPath(cfg, "/etc/hosts", clientMeta("twin"))).text).to.equal("127.0.0.1 localhost\n");
  });

  it("keeps Genshi expressions away from the host: no dunder access, no imports", () => {
    const render = (t: string) => {
      try {
        return compileGenshi(t, "x.genshi").render({ s: "str", o: {} });
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(render("${s.__class__}")).to.match(/not allowed/);
    expect(render("${o.constructor}")).to.match(/UndefinedError/);
    expect(render("{% python\nimport os\n%}")).to.match(/not supported/);
    expect(render("${__import__('os')}")).to.match(/not defined/);
  });
});
