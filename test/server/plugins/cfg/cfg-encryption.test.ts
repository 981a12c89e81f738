// Bcfg2's encryption, against the real thing: what upstream's bcfg2-crypt (lab-patched for Python 3)
// and `openssl enc` write, vacfg reads, and the other way round; `vacfg crypt` as bcfg2-crypt; and a
// repository with .crypt files and encrypted Properties served by vacfg and by the upstream server.
import { expect } from "chai";
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { isEncrypted, sslDecrypt, sslEncrypt } from "../../../../server/plugins/shared/encryption.js";
import { projectRoot } from "../../../support/paths.js";
import { labPatchedUpstream, upstreamCrypt } from "../../../support/upstream-bcfg2.js";
import { configsAfterProbes, configEntries, sideBySide, type SideBySide } from "../../../compat/sites.js";
import { writeRepo } from "../../core/harness.js";

const run = promisify(execFile);
const vacfg = join(projectRoot, "dist/cli/vacfg.js");

/**
 * Ciphertext of `plain` under `key` that none of `others` opens. Without a MAC, a wrong passphrase
 * yields valid padding (and garbage) for about 1 salt in 256, in OpenSSL and upstream alike; a test of
 * the refusal must not depend on drawing another salt.
 */
function sealedAgainst(plain: string, key: string, others: string[]): string {
  for (;;) {
    const c = sslEncrypt(plain, key);
    if (others.every((o) => sslDecrypt(c, o) === undefined)) return c;
  }
}

/** bcfg2.conf / vacfg.conf [encryption] section both tools read. */
const ENCRYPTION = "[encryption]\nsite = correct horse battery staple\nother = tr0ub4dor&3\n";

async function vacfgCrypt(conf: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [vacfg, "crypt", "-c", conf, ...args], { encoding: "utf8" });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { status: err.code ?? 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

/**
 * Runs a crypt command with -I, typing each answer once its prompt has appeared on `promptStream`
 * (bcfg2-crypt's safe_input empties stdin before it asks, so answers cannot be piped ahead).
 */
function interactiveCrypt(cmd: string, args: string[], env: NodeJS.ProcessEnv, promptStream: "stdout" | "stderr", answers: string[]): Promise<{ status: number; prompts: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env });
    let prompts = "";
    let answered = 0;
    child[promptStream].on("data", (c) => {
      prompts += c;
      const asked = prompts.split("[y/N] ").length - 1;
      while (answered < asked && answered < answers.length) child.stdin.write(`${answers[answered++]}\n`);
    });
    child[promptStream === "stdout" ? "stderr" : "stdout"].resume();
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, prompts });
    });
  });
}

describe("encryption: Bcfg2's format, both directions with bcfg2-crypt and openssl", function () {
  this.timeout(120_000);
  let dir: string;
  let conf: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-crypt-"));
    conf = join(dir, "bcfg2.conf");
    writeFileSync(conf, ENCRYPTION);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("what vacfg encrypts, openssl enc -d -aes-256-cbc -md md5 decrypts, and the other way round", () => {
    const ours = sslEncrypt("db_password = hunter2\n", "pw1");
    expect(isEncrypted(ours)).to.equal(true);
    const opened = execFileSync("openssl", ["enc", "-d", "-aes-256-cbc", "-md", "md5", "-a", "-A", "-pass", "pass:pw1"], { input: ours, stdio: ["pipe", "pipe", "ignore"] });
    expect(opened.toString()).to.equal("db_password = hunter2\n");
    // openssl wraps its base64 at 64 columns; upstream's b64decode skips the newlines, so do we.
    // Drawn again while "wrong" opens it (valid padding, garbage: 1 salt in 256), so the refusal below holds.
    let theirs: string;
    do theirs = execFileSync("openssl", ["enc", "-aes-256-cbc", "-md", "md5", "-a", "-salt", "-pass", "pass:pw1"], { input: "x".repeat(200), stdio: ["pipe", "pipe", "ignore"] }).toString();
    while (sslDecrypt(theirs, "wrong") !== undefined && sslDecrypt(theirs, "pw1") !== undefined);
    expect(theirs.trim().split("\n").length).to.be.greaterThan(1);
    expect(sslDecrypt(theirs, "pw1")?.toString()).to.equal("x".repeat(200));
    expect(sslDecrypt(theirs, "wrong")).to.equal(undefined);
    expect(isEncrypted("plain text")).to.equal(false);
  });

  it("a Cfg file encrypted by bcfg2-crypt decrypts with vacfg crypt, and one vacfg crypt encrypts decrypts with bcfg2-crypt", async () => {
    const plain = "secret file\nline two é\n";
    writeFileSync(join(dir, "a.conf"), plain);
    await upstreamCrypt(conf, ["--encrypt", "-p", "other", join(dir, "a.conf")]);
    expect(existsSync(join(dir, "a.conf.crypt"))).to.equal(true);
    rmSync(join(dir, "a.conf"));
    const r = await vacfgCrypt(conf, ["--decrypt", join(dir, "a.conf.crypt")]); // no -p: each passphrase in turn
    expect(r.status, r.stderr).to.equal(0);
    expect(readFileSync(join(dir, "a.conf"), "utf8")).to.equal(plain);

    writeFileSync(join(dir, "b.conf"), plain);
    expect((await vacfgCrypt(conf, ["--encrypt", "-p", "site", "--remove", join(dir, "b.conf")])).status).to.equal(0);
    expect(existsSync(join(dir, "b.conf"))).to.equal(false);
    const up = await upstreamCrypt(conf, ["--decrypt", "--stdout", "-p", "site", join(dir, "b.conf.crypt")]);
    expect(up.stdout).to.equal(plain + "\n"); // bcfg2-crypt's print() adds a newline
  });

  it("a file the first passphrase also opens (valid padding, 1 salt in 256) decrypts to its text with the one it was encrypted with", async () => {
    const plain = "secret file\nline two é\n";
    // The first salt (counting up) under which "site", tried first, opens what "other" encrypted.
    let sealed = "";
    for (let i = 0; !sealed; i++) {
      const salt = Buffer.alloc(8);
      salt.writeUInt32BE(i);
      const c = sslEncrypt(plain, "tr0ub4dor&3", undefined, salt);
      if (sslDecrypt(c, "correct horse battery staple") !== undefined) sealed = c;
    }
    writeFileSync(join(dir, "both.conf.crypt"), sealed);
    const r = await vacfgCrypt(conf, ["--decrypt", join(dir, "both.conf.crypt")]); // no -p: each passphrase in turn
    expect(r.status, r.stderr).to.equal(0);
    expect(readFileSync(join(dir, "both.conf"), "utf8")).to.equal(plain);
  });

  it("Properties elements: bcfg2-crypt's encryption decrypts with vacfg crypt and the other way round, comments kept", async () => {
    const props = join(dir, "secrets.xml");
    const original = '<Properties>\n  <!-- keep me -->\n  <Db encrypted="site">hunter2</Db>\n  <Api encrypted="other">k-123</Api>\n  <Plain>visible</Plain>\n</Properties>\n';
    writeFileSync(props, original);
    await upstreamCrypt(conf, ["--encrypt", props]);
    const encrypted = readFileSync(props, "utf8");
    expect(encrypted).to.not.include("hunter2");
    expect(encrypted).to.include("<Plain>visible</Plain>");
    expect((await vacfgCrypt(conf, ["--decrypt", props])).status).to.equal(0);
    const back = readFileSync(props, "utf8");
    expect(back).to.include('<Db encrypted="site">hunter2</Db>').and.include('<Api encrypted="other">k-123</Api>');

    writeFileSync(props, original);
    expect((await vacfgCrypt(conf, ["--encrypt", props])).status).to.equal(0);
    const ours = readFileSync(props, "utf8");
    expect(ours).to.include("<!-- keep me -->").and.not.include("hunter2").and.not.include("k-123");
    // already encrypted: refused, file unchanged
    const again = await vacfgCrypt(conf, ["--encrypt", props]);
    expect(again.status).to.equal(1);
    expect(again.stderr).to.match(/already encrypted: <Db> \(line 3\)/);
    expect(readFileSync(props, "utf8")).to.equal(ours);
    await upstreamCrypt(conf, ["--decrypt", props]);
    const dec = readFileSync(props, "utf8");
    expect(dec).to.include('<Db encrypted="site">hunter2</Db>').and.include('<Api encrypted="other">k-123</Api>');
  });

  it("-I asks for each element as bcfg2-crypt -I does and encrypts only those answered y", async () => {
    const original = '<Properties>\n  <Db encrypted="site">hunter2<Note>n</Note></Db>\n  <Api encrypted="other">k-123</Api>\n  <Key encrypted="site">s3</Key>\n</Properties>\n';
    const ours = join(dir, "interactive-ours.xml");
    const theirs = join(dir, "interactive-theirs.xml");
    writeFileSync(ours, original);
    writeFileSync(theirs, original);
    const answers = ["y", "n", "Y"];
    const up = await interactiveCrypt("/usr/bin/python3", [join(labPatchedUpstream(), "src/src/sbin/bcfg2-crypt"), "-C", conf, "--encrypt", "-I", theirs], { ...process.env, PYTHONPATH: join(labPatchedUpstream(), "src/src/lib") }, "stdout", answers);
    expect(up.status, up.prompts).to.equal(0);
    const r = await interactiveCrypt(process.execPath, [vacfg, "crypt", "-c", conf, "--encrypt", "-I", ours], process.env, "stderr", answers);
    expect(r.status, r.prompts).to.equal(0);
    const asked = (t: string) => t.replace(/\[y\/N\] /g, "[y/N]\n").split("\n").filter((l) => l.startsWith("<") || l.startsWith("Encrypt this element")).map((l) => l.trim());
    expect(asked(r.prompts)).to.deep.equal(asked(up.prompts));
    expect(asked(r.prompts)).to.deep.equal([
      '<Db encrypted="site">hunter2</Db>',
      "Encrypt this element? [y/N]",
      '<Api encrypted="other">k-123</Api>',
      "Encrypt this element? [y/N]",
      '<Key encrypted="site">s3</Key>',
      "Encrypt this element? [y/N]",
    ]);
    // Same elements encrypted (ciphertexts differ by their random salt), the declined one left as it was.
    const shape = (t: string) => t.replace(/>U2FsdGVkX1[A-Za-z0-9+/=]+</g, ">CIPHER<");
    expect(shape(readFileSync(ours, "utf8"))).to.equal(shape(readFileSync(theirs, "utf8")));
    expect(readFileSync(ours, "utf8")).to.include('<Api encrypted="other">k-123</Api>').and.not.include("hunter2").and.not.include(">s3<");
    const dec = await vacfgCrypt(conf, ["--decrypt", "--stdout", theirs]);
    expect(dec.stdout).to.include('<Db encrypted="site">hunter2<Note>n</Note></Db>').and.include('<Key encrypted="site">s3</Key>');
    // not when decrypting, nor for a Cfg file (as upstream, said and ignored)
    const d = await vacfgCrypt(conf, ["--decrypt", "-I", ours]);
    expect(d.stderr).to.include("Cannot decrypt interactively");
  });

  it("vacfg crypt refuses what bcfg2-crypt refuses, naming the file", async () => {
    writeFileSync(join(dir, "c.conf"), "x\n");
    const several = await vacfgCrypt(conf, ["--encrypt", join(dir, "c.conf")]);
    expect(several.status).to.equal(1);
    expect(several.stderr).to.include("Multiple passphrases found").and.include("-p").and.include("c.conf");
    const unknown = await vacfgCrypt(conf, ["--encrypt", "-p", "nope", join(dir, "c.conf")]);
    expect(unknown.stderr).to.include('no passphrase named "nope"').and.include("known: site, other");
    const wrong = join(dir, "w.conf.crypt");
    writeFileSync(wrong, sealedAgainst("x", "not configured", ["correct horse battery staple", "tr0ub4dor&3"]));
    const undecryptable = await vacfgCrypt(conf, ["--decrypt", wrong]);
    expect(undecryptable.status).to.equal(1);
    expect(undecryptable.stderr).to.include("Could not decrypt").and.include("w.conf.crypt");
    expect(existsSync(join(dir, "w.conf"))).to.equal(false);
    const help = await run(process.execPath, [vacfg, "crypt", "--help"], { encoding: "utf8" });
    expect(help.stdout).to.include("bcfg2-crypt").and.include("--passphrase <name>").and.include("[encryption]");
  });
});

/** A site whose secrets are encrypted: a .crypt file, a host-specific one, an encrypted Genshi template and Properties read by a template. */
function encryptedSite(dir: string): Promise<void> {
  writeRepo(dir, {
    "Metadata/groups.xml": '<Groups>\n  <Group name="web" profile="true"><Bundle name="secrets"/></Group>\n</Groups>\n',
    "Metadata/clients.xml": '<Clients>\n  <Client name="web1" profile="web"/>\n  <Client name="web2" profile="web"/>\n</Clients>\n',
    "Bundler/secrets.xml":
      '<Bundle>\n  <Path name="/etc/app/secret.conf"/>\n  <Path name="/etc/app/db.conf"/>\n  <Path name="/etc/app/tmpl.conf"/>\n  <Path name="/etc/app/plain.conf"/>\n</Bundle>\n',
    "Cfg/etc/app/secret.conf/secret.conf": "shared secret\n",
    "Cfg/etc/app/secret.conf/secret.conf.H_web2": "web2's own secret\n",
    "Cfg/etc/app/db.conf/db.conf.jinja2": "user = app\npassword = {{ metadata.Properties['secrets.xml'].xdata.find('Db').text }}\napi = {{ metadata.Properties['secrets.xml'].xdata.find('Api').text }}\n",
    "Cfg/etc/app/tmpl.conf/tmpl.conf.genshi": "host ${metadata.hostname} key s3cr3t\n",
    "Cfg/etc/app/plain.conf/plain.conf": "not secret\n",
    "Properties/secrets.xml": '<Properties>\n  <Db encrypted="site">hunter2</Db>\n  <Api encrypted="other">k-123</Api>\n</Properties>\n',
  });
  return Promise.resolve();
}

describe("encryption: GetConfig on vacfg and the upstream server (files encrypted by bcfg2-crypt)", function () {
  this.timeout(300_000);
  let s: SideBySide;
  let repo: string;
  before(async () => {
    repo = mkdtempSync(join(tmpdir(), "vacfg-crypt-site-"));
    await encryptedSite(repo);
    const conf = join(repo, "..", `${repo.split("/").pop()}.conf`);
    writeFileSync(conf, ENCRYPTION);
    for (const f of ["Cfg/etc/app/secret.conf/secret.conf", "Cfg/etc/app/secret.conf/secret.conf.H_web2", "Cfg/etc/app/tmpl.conf/tmpl.conf.genshi"]) {
      await upstreamCrypt(conf, ["--encrypt", "--remove", "-p", "site", join(repo, f)]);
    }
    await upstreamCrypt(conf, ["--encrypt", join(repo, "Properties/secrets.xml")]);
    rmSync(conf);
    expect(existsSync(join(repo, "Cfg/etc/app/secret.conf/secret.conf.H_web2.crypt"))).to.equal(true);
    expect(readFileSync(join(repo, "Properties/secrets.xml"), "utf8")).to.not.include("hunter2");
    s = await sideBySide(repo, { extraConfig: ENCRYPTION, labPatched: true });
  });
  after(async () => {
    await s?.stop();
    rmSync(repo, { recursive: true, force: true });
  });

  it("serves the decrypted files and Properties exactly as upstream does, for every client", async () => {
    const configs = await configsAfterProbes(s, { web1: [], web2: [] });
    for (const [client, { upstream, vacfg: ours }] of configs) {
      const theirs = configEntries(upstream);
      expect(configEntries(ours), client).to.deep.equal(theirs);
      const secret = theirs.get("secrets Path:/etc/app/secret.conf")!;
      expect(secret).to.include(client === "web2" ? "web2's own secret" : "shared secret");
      expect(theirs.get("secrets Path:/etc/app/db.conf")).to.include("password = hunter2").and.include("api = k-123");
      expect(theirs.get("secrets Path:/etc/app/tmpl.conf")).to.include(`host ${client} key s3cr3t`);
    }
  });
});

describe("encryption: data no passphrase opens", function () {
  this.timeout(300_000);
  const site = (dir: string) =>
    writeRepo(dir, {
      "Metadata/groups.xml": '<Groups><Group name="web" profile="true"><Bundle name="b"/></Group></Groups>\n',
      "Metadata/clients.xml": '<Clients><Client name="web1" profile="web"/></Clients>\n',
      "Bundler/b.xml": '<Bundle><Path name="/etc/x.conf"/><Path name="/etc/y.conf"/></Bundle>\n',
      "Cfg/etc/x.conf/x.conf.crypt": sealedAgainst("xx\n", "a passphrase the site does not have", ["pw"]),
      "Cfg/etc/y.conf/y.conf.jinja2": "v={{ metadata.Properties['p.xml'].xdata.find('A').text }}\n",
      "Properties/p.xml": `<Properties><A encrypted="site">${sealedAgainst("aa", "another one", ["pw"]).trim()}</A></Properties>\n`,
    });

  for (const lax of [true, false]) {
    it(lax ? "lax_decryption: served as they are, as upstream does" : "strict (default): the entries fail naming the file, where upstream serves the ciphertext", async () => {
      const repo = mkdtempSync(join(tmpdir(), "vacfg-crypt-bad-"));
      site(repo);
      const s = await sideBySide(repo, { extraConfig: `[encryption]\nsite = pw\n${lax ? "lax_decryption = true\n" : ""}`, labPatched: true });
      try {
        const { upstream, vacfg: ours } = (await configsAfterProbes(s, { web1: [] })).get("web1")!;
        const theirs = configEntries(upstream);
        // Upstream logs "Failed to decrypt" and serves the undecrypted text whatever lax_decryption says.
        expect(theirs.get("b Path:/etc/x.conf")).to.match(/>U2FsdGVkX1/);
        expect(theirs.get("b Path:/etc/y.conf")).to.match(/>v=U2FsdGVkX1/);
        if (lax) expect(configEntries(ours)).to.deep.equal(theirs);
        else {
          expect(ours).to.match(/name="\/etc\/x.conf"[^>]*failure="bind error: Cfg: Failed to decrypt [^"]*x\.conf\.crypt: no \[encryption\] passphrase opens it"/);
          expect(ours).to.match(/name="\/etc\/y.conf"[^>]*failure=/);
          expect(ours).to.not.include("U2FsdGVkX1");
          expect(readFileSync(join(s.dir, "server.log"), "utf8")).to.match(/p\.xml:1: Failed to decrypt A element: passphrase \\?"site\\?" does not open it/);
        }
      } finally {
        await s.stop();
        rmSync(repo, { recursive: true, force: true });
      }
    });
  }
});
