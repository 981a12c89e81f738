// Parameters → accounts (issue 14): over TLS, against the real server on the example repository, the
// real agent installs the users of its signed `users` parameter into a sandbox root — passwd, group,
// ~/.ssh/authorized_keys — with names and keys made up here (nowhere in the repository), the same
// uid on two nodes, and the changes of a new parameter set on the next run.
import { expect } from "chai";
import { generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONTEXT_FILE_PATH, serializeParameterFile, type ParameterFile } from "../../protocol/params.js";
import { signParameters } from "../../protocol/params-signature.js";
import { CTX_SIGNING_KEY, loadCtxSigningKey } from "../../server/admin/ctx-signing-key.js";
import { CONTEXT_UID_BASE, CONTEXT_USERS_BUNDLE } from "../../server/plugins/context-users.js";
import { startTestSite, type TestSite } from "../server/http/site.js";
import { addShell, makeBaseRoot, removeDir, runAgentProcess, tempDir } from "./fixtures.js";

/** A fresh OpenSSH ed25519 public key line (RFC 8709: string "ssh-ed25519", string key). */
function sshKey(comment: string): string {
  const raw = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const str = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from("ssh-ed25519")), str(raw)]).toString("base64")} ${comment}`;
}

const fresh = (prefix: string) => `${prefix}${randomBytes(4).toString("hex")}`;

describe("the users parameter becomes accounts and authorized_keys (real agent, real server over TLS)", function () {
  this.timeout(120_000);
  let site: TestSite;
  let work: string;
  let siteKey: KeyObject;
  before(async () => {
    site = await startTestSite();
    work = tempDir("vacfg-context-users-");
    siteKey = loadCtxSigningKey(join(site.dir, CTX_SIGNING_KEY));
  });
  after(async () => {
    await site?.cleanup();
    if (work) removeDir(work);
  });

  const nodes = [fresh("hd"), fresh("wk")];
  const paramsWith = (users: { name: string; value: string }[]): ParameterFile =>
    new Map([
      ["domain", { kind: "value", value: "cluster" }],
      ["nodenames", { kind: "list", items: nodes.map((value) => ({ value })) }],
      ["users", { kind: "list", items: users }],
    ]);

  /** Runs the agent for real as `client` (the context-users bundle only) with its signed parameters; returns the root. */
  async function run(client: string, params: ParameterFile): Promise<string> {
    const root = join(work, client);
    makeBaseRoot(root);
    addShell(root);
    mkdirSync(join(root, "etc/vacfg"), { recursive: true });
    writeFileSync(join(root, CONTEXT_FILE_PATH), serializeParameterFile(params, signParameters(params, client, siteKey)));
    const r = await runAgentProcess(["-S", site.server.url, "-u", client, "-x", "labsecret", "--ca", join(site.tlsDir, "ca.crt"), "--root", root, "-b", CONTEXT_USERS_BUNDLE]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    return root;
  }
  const passwdRow = (root: string, name: string) => readFileSync(join(root, "etc/passwd"), "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
  const groupRow = (root: string, name: string) => readFileSync(join(root, "etc/group"), "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
  const keys = (root: string, name: string) => join(root, "home", name, ".ssh/authorized_keys");

  const [u1, u2, u3] = [fresh("u"), fresh("u"), fresh("u")];
  const [k1, k2, k1b, k3] = [sshKey(`${u1}@a`), sshKey(`${u2}@b`), sshKey(`${u1}@c`), sshKey(`${u3}@d`)];

  it("names and keys from nowhere in the repository land in passwd, group and ~/.ssh/authorized_keys (0600, the user's)", async () => {
    const root = await run(nodes[0], paramsWith([{ name: u1, value: k1 }, { name: u2, value: k2 }]));
    expect(passwdRow(root, u1)).to.equal(`${u1}:x:${CONTEXT_UID_BASE}:${CONTEXT_UID_BASE}:${u1} (context user):/home/${u1}:/bin/bash`);
    expect(passwdRow(root, u2)).to.match(new RegExp(`^${u2}:x:${CONTEXT_UID_BASE + 1}:${CONTEXT_UID_BASE + 1}:`));
    expect(groupRow(root, u2)).to.match(new RegExp(`^${u2}:x:${CONTEXT_UID_BASE + 1}:`));
    expect(readFileSync(keys(root, u1), "utf8")).to.equal(`${k1}\n`);
    const st = statSync(keys(root, u2));
    expect(st.mode & 0o777).to.equal(0o600);
    expect([st.uid, st.gid]).to.deep.equal([CONTEXT_UID_BASE + 1, CONTEXT_UID_BASE + 1]);
    expect(statSync(join(root, "home", u2, ".ssh")).uid).to.equal(CONTEXT_UID_BASE + 1);
  });

  it("another node with the same users gives each the same uid", async () => {
    const users = [{ name: u1, value: k1 }, { name: u2, value: k2 }];
    const [a, b] = [join(work, nodes[0]), await run(nodes[1], paramsWith(users))];
    for (const u of [u1, u2]) expect(passwdRow(b, u)).to.be.a("string").and.equal(passwdRow(a, u));
  });

  it("a new user and a changed key in the parameters change the node on the next run", async () => {
    const root = await run(nodes[0], paramsWith([{ name: u1, value: k1b }, { name: u2, value: k2 }, { name: u3, value: k3 }]));
    expect(readFileSync(keys(root, u1), "utf8")).to.equal(`${k1b}\n`);
    expect(passwdRow(root, u3)).to.match(new RegExp(`^${u3}:x:${CONTEXT_UID_BASE + 2}:`));
    expect(readFileSync(keys(root, u3), "utf8")).to.equal(`${k3}\n`);
    expect(passwdRow(root, u1)).to.match(new RegExp(`^${u1}:x:${CONTEXT_UID_BASE}:`));
  });

  it("a bad login or key is a failed entry naming the item, and no user is made", async () => {
    const client = fresh("bad");
    const root = join(work, client);
    makeBaseRoot(root);
    addShell(root);
    mkdirSync(join(root, "etc/vacfg"), { recursive: true });
    const params = paramsWith([{ name: u1, value: k1 }, { name: "Root;x", value: k2 }]);
    writeFileSync(join(root, CONTEXT_FILE_PATH), serializeParameterFile(params, signParameters(params, client, siteKey)));
    const cache = join(work, `${client}.config.xml`);
    await runAgentProcess(["-S", site.server.url, "-u", client, "-x", "labsecret", "--ca", join(site.tlsDir, "ca.crt"), "--root", root, "-n", "-c", cache]);
    const config = readFileSync(cache, "utf8");
    expect(config).to.contain(`<Bundle name="${CONTEXT_USERS_BUNDLE}">`).and.match(/failure="parameter &quot;users&quot; item 2: name &quot;Root;x&quot; is not a POSIX login name/);
    expect(config).to.not.contain(u1);
  });
});
