// `vacfg attest` end to end through the built CLI: keygen (0600 private key), sign, verify with
// exit 0 when admitted and 3 with named reasons when refused.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_PACKAGES, makeDebianImage } from "./debian-image.js";

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), "../../../cli/vacfg.js");

function vacfg(args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, "attest", ...args], { encoding: "utf8" });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe("attest: vacfg attest CLI", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "vacfg-attest-cli-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keygen, sign, verify: admitted (0), refused (3) with reasons, bad policy (1)", () => {
    const img = join(dir, "img.ext4");
    makeDebianImage(img, { packages: DEFAULT_PACKAGES });
    const kg = vacfg(["keygen", "--out", join(dir, "keys")]);
    expect(kg.status, kg.err).to.equal(0);
    expect(statSync(join(dir, "keys", "attest.key")).mode & 0o777).to.equal(0o600);
    const fp = /fingerprint: (sha256:[0-9a-f]{64})/.exec(kg.out)![1];
    expect(vacfg(["keygen", "--out", join(dir, "keys")]).err).to.contain("not overwriting");

    const att = join(dir, "img.att.json");
    const sg = vacfg(["sign", img, "--key", join(dir, "keys", "attest.key"), "--issuer", "ci", "--config-path", "/etc/vacfg", "--config-path", "/etc", "-o", att]);
    expect(sg.status, sg.err).to.equal(0);
    const doc = JSON.parse(readFileSync(att, "utf8"));
    expect(doc.config.paths).to.deep.equal(["/etc"]); // /etc/vacfg is inside /etc
    expect(doc.appliance).to.deep.equal({ name: "img", version: "unversioned" });

    writeFileSync(join(dir, "ok.json"), JSON.stringify({ trustedSigners: [fp], requiredPackages: [{ name: "libc6", minVersion: "2.36" }] }));
    writeFileSync(join(dir, "strict.json"), JSON.stringify({ trustedSigners: [fp], forbiddenPackages: ["vim-tiny"], minPatchLevel: { debianVersion: "12.6" } }));
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ trustedSigners: [fp], maxAgeSeconds: 0 }));
    const trust = join(dir, "keys");
    const ok = vacfg(["verify", img, "--attestation", att, "--policy", join(dir, "ok.json"), "--trust", trust]);
    expect(ok.status, ok.err + ok.out).to.equal(0);
    expect(ok.out).to.match(/^admitted /);
    const no = vacfg(["verify", img, "--attestation", att, "--policy", join(dir, "strict.json"), "--trust", trust]);
    expect(no.status).to.equal(3);
    expect(no.out).to.contain("[forbiddenPackages[0]] forbidden package vim-tiny");
    expect(no.out).to.contain("[minPatchLevel.debianVersion]");
    const bad = vacfg(["verify", img, "--attestation", att, "--policy", join(dir, "bad.json"), "--trust", trust]);
    expect(bad.status).to.equal(1);
    expect(bad.err).to.contain("bad.json: maxAgeSeconds: must be a positive integer");
  });
});
