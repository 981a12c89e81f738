// Attest a real ext4 image (built with mkfs.ext4 -d) and admit or refuse it by policy:
// each refusal case changes one real thing (image bytes, signer, clock, packages, JSON).
import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAttestation, serializeAttestation, type AttestationDocument } from "../../../protocol/attestation.js";
import { admitImage, attestImage, keyFingerprint, parsePolicy, recordAttestation, type AdmissionPolicy, type TrustedKeys } from "../../../hypervisor/attest/index.js";
import { writeGuestFiles } from "../../../hypervisor/image/debugfs.js";
import { openStore } from "../../../server/store/open-store.js";
import { DEFAULT_PACKAGES, makeDebianImage, sh } from "./debian-image.js";

describe("attest: attestation and admission of a real ext4 image", function () {
  this.timeout(120_000);
  let dir: string;
  let image: string;
  let doc: AttestationDocument;
  const signer = generateKeyPairSync("ed25519");
  const other = generateKeyPairSync("ed25519");
  const fp = keyFingerprint(signer.publicKey);
  const keys: TrustedKeys = new Map([
    [fp, signer.publicKey],
    [keyFingerprint(other.publicKey), other.publicKey],
  ]);
  const issued = new Date("2026-06-01T12:00:00.000Z");
  const soon = new Date(issued.getTime() + 60_000);
  const policy = (extra: Record<string, unknown> = {}): AdmissionPolicy =>
    parsePolicy(
      JSON.stringify({
        trustedSigners: [fp],
        maxAgeSeconds: 3600,
        requiredPackages: [{ name: "openssl", minVersion: "3.0.11-1~deb12u1" }, { name: "libc6", minVersion: "2.36-9+deb12u3" }, { name: "openssh-server" }],
        forbiddenPackages: ["telnetd", "rsh-server"],
        minPatchLevel: { osId: "debian", versionId: "12", debianVersion: "12.4", stableUpdates: 3 },
        ...extra,
      }),
      "test-policy.json",
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-attest-test-"));
    image = join(dir, "appliance.img");
    makeDebianImage(image, { packages: DEFAULT_PACKAGES, debianVersion: "12.5" });
    doc = await attestImage(image, { signingKey: signer.privateKey, issuer: "ci@site", appliance: { name: "torque-head", version: "1.2" }, now: issued });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("attests what the image holds: digest, installed packages only, patch level, config, agent", () => {
    expect(doc.subject.digest).to.equal("sha256:" + sh("sha256sum", [image]).split(" ")[0]);
    expect(doc.subject.format).to.equal("ext");
    expect(doc.packages.map((p) => `${p.name}:${p.arch}=${p.version}`)).to.deep.equal([
      "base-files:amd64=12.4+deb12u5",
      "libc6:amd64=2.36-9+deb12u4",
      "libc6:i386=2.36-9+deb12u4",
      "openssh-server:amd64=1:9.2p1-2+deb12u2",
      "openssl:amd64=3.0.11-1~deb12u2",
      "vacfg-agent:all=0.1.0",
      "vim-tiny:amd64=2:9.0.1378-2",
    ]); // telnetd is only config-files: not installed
    expect(doc.patchLevel).to.deep.equal({ osId: "debian", versionId: "12", debianVersion: "12.5", stableUpdates: 5 });
    expect(doc.agent?.version).to.equal("0.1.0");
    expect(doc.agent?.digest).to.match(/^sha256:[0-9a-f]{64}$/);
    // /etc/vacfg, site.conf, secret.key, current (symlink), "sub dir", "sub dir/with space.conf"
    expect(doc.config).to.include({ files: 6 });
    expect(doc.config.paths).to.deep.equal(["/etc/vacfg"]);
    expect(doc.signature.keyFingerprint).to.equal(fp);
    expect(parseAttestation(serializeAttestation(doc))).to.deep.equal(doc);
  });

  it("attests the agent as the vacfg-agent package: its digest follows the bundle's bytes, none without the package", async () => {
    const changed = join(dir, "changed-agent.img");
    makeDebianImage(changed, { packages: DEFAULT_PACKAGES, debianVersion: "12.5", files: { "/usr/lib/vacfg-agent/vacfg-agent.cjs": "// another bundle\n" } });
    const same = join(dir, "same-agent.img");
    makeDebianImage(same, { packages: DEFAULT_PACKAGES, debianVersion: "12.5" });
    const opts = { signingKey: signer.privateKey, issuer: "ci@site", appliance: { name: "torque-head", version: "1.2" }, now: issued };
    const other = (await attestImage(changed, opts)).agent;
    expect(other?.version).to.equal("0.1.0");
    expect(other?.digest).to.not.equal(doc.agent?.digest);
    expect((await attestImage(same, opts)).agent).to.deep.equal(doc.agent);
    const without = join(dir, "no-agent.img");
    makeDebianImage(without, { packages: DEFAULT_PACKAGES.filter((p) => p.name !== "vacfg-agent") });
    expect((await attestImage(without, opts)).agent).to.equal(null);
  });

  it("admits the image under a matching policy", async () => {
    const d = await admitImage(image, policy(), { keys, attestation: doc, now: soon });
    expect(d.reasons).to.deep.equal([]);
    expect(d.admitted).to.equal(true);
    expect(d.digest).to.equal(doc.subject.digest);
  });

  it("config digest covers owner and mode: a chown inside the image changes it, the same content re-attested does not", async () => {
    const copy = join(dir, "copy.img");
    sh("cp", [image, copy]);
    const again = await attestImage(copy, { signingKey: signer.privateKey, issuer: "ci@site", appliance: { name: "torque-head", version: "1.2" }, now: issued });
    expect(again.config.digest).to.equal(doc.config.digest);
    sh("debugfs", ["-w", "-R", "sif /etc/vacfg/site.conf uid 7", copy]);
    const changed = await attestImage(copy, { signingKey: signer.privateKey, issuer: "ci@site", appliance: { name: "torque-head", version: "1.2" }, now: issued });
    expect(changed.config.digest).to.not.equal(doc.config.digest);
    const d = await admitImage(copy, policy({ configDigest: doc.config.digest }), { keys, attestation: changed, now: soon });
    expect(d.reasons.map((r) => r.rule)).to.deep.equal(["configDigest"]);
  });

  it("refuses a tampered image: one byte of one file changed with debugfs write", async () => {
    const copy = join(dir, "tampered.img");
    sh("cp", [image, copy]);
    writeGuestFiles(copy, [{ path: "/etc/vacfg/site.conf", data: "[site]\nname = tesT\n", mode: 0o644 }]);
    const d = await admitImage(copy, policy(), { keys, attestation: doc, now: soon });
    expect(d.admitted).to.equal(false);
    expect(d.reasons.map((r) => r.rule)).to.deep.equal(["subject.digest"]);
    expect(d.reasons[0].message).to.contain(doc.subject.digest);
  });

  it("refuses a signer the policy does not trust (key known, not listed)", async () => {
    const byOther = await attestImage(image, { signingKey: other.privateKey, issuer: "someone", appliance: { name: "x", version: "1" }, now: issued });
    const d = await admitImage(image, policy(), { keys, attestation: byOther, now: soon });
    expect(d.reasons.map((r) => r.rule)).to.deep.equal(["trustedSigners"]);
  });

  it("refuses a signature by a key that is not in the trust set at all", async () => {
    const stranger = generateKeyPairSync("ed25519");
    const byStranger = await attestImage(image, { signingKey: stranger.privateKey, issuer: "x", appliance: { name: "x", version: "1" }, now: issued });
    const d = await admitImage(image, policy({ trustedSigners: [keyFingerprint(stranger.publicKey)] }), { keys, attestation: byStranger, now: soon });
    expect(d.reasons.map((r) => r.rule)).to.deep.equal(["signature"]);
    expect(d.reasons[0].message).to.contain("not a trusted key");
  });

  it("refuses an expired attestation, and one issued in the future", async () => {
    const late = await admitImage(image, policy(), { keys, attestation: doc, now: new Date(issued.getTime() + 3601_000) });
    expect(late.reasons.map((r) => r.rule)).to.deep.equal(["maxAgeSeconds"]);
    expect(late.reasons[0].message).to.contain("3601 s old");
    const early = await admitImage(image, policy(), { keys, attestation: doc, now: new Date(issued.getTime() - 3600_000) });
    expect(early.reasons.map((r) => r.rule)).to.deep.equal(["maxAgeSeconds"]);
    expect(early.reasons[0].message).to.contain("future");
  });

  it("refuses a package older than the minimum (epoch and ~ ordering), naming the rule", async () => {
    const d = await admitImage(image, policy({ requiredPackages: [{ name: "openssl", minVersion: "3.0.11-1" }, { name: "openssh-server", minVersion: "1:9.2p1-2+deb12u3" }, { name: "vim-tiny", minVersion: "9.1" }] }), { keys, attestation: doc, now: soon });
    // 3.0.11-1~deb12u2 < 3.0.11-1 ('~' sorts first); 1:9.2p1-2+deb12u2 < ...u3; 2:9.0 > 9.1 by epoch
    expect(d.reasons.map((r) => r.rule)).to.deep.equal(["requiredPackages[0]", "requiredPackages[1]"]);
    expect(d.reasons[0].message).to.contain("3.0.11-1~deb12u2 is older than the required 3.0.11-1");
  });

  it("refuses a missing required package and a forbidden installed one, each named", async () => {
    const d = await admitImage(image, policy({ requiredPackages: [{ name: "auditd" }], forbiddenPackages: ["telnetd", "vim-tiny"] }), { keys, attestation: doc, now: soon });
    expect(d.reasons.map((r) => r.rule)).to.deep.equal(["requiredPackages[0]", "forbiddenPackages[1]"]);
  });

  it("refuses a patch level below the minimum", async () => {
    const d = await admitImage(image, policy({ minPatchLevel: { versionId: "13", debianVersion: "12.10", stableUpdates: 6 } }), { keys, attestation: doc, now: soon });
    expect(d.reasons.map((r) => r.rule)).to.deep.equal(["minPatchLevel.versionId", "minPatchLevel.debianVersion", "minPatchLevel.stableUpdates"]);
  });

  it("refuses a tampered attestation JSON: the signature no longer matches", async () => {
    const text = serializeAttestation(doc).replace('"version":"3.0.11-1~deb12u2"', '"version":"3.0.11-1+deb12u9"');
    expect(text).to.not.equal(serializeAttestation(doc));
    const d = await admitImage(image, policy(), { keys, attestation: text, now: soon });
    expect(d.reasons.map((r) => r.rule)).to.deep.equal(["signature"]);
    expect(d.reasons[0].message).to.contain("does not match");
    const broken = await admitImage(image, policy(), { keys, attestation: text.replace('"issuer"', '"isuer"'), now: soon });
    expect(broken.reasons.map((r) => r.rule)).to.deep.equal(["attestation"]);
    expect(broken.reasons[0].message).to.match(/isuer: unknown field|issuer: missing/);
  });

  it("finds the attestation in a real SQLite store by image digest; an unattested image is refused", async () => {
    const store = await openStore(`sqlite:${join(dir, "store.db")}`);
    try {
      await recordAttestation(store, doc);
      const d = await admitImage(image, policy(), { keys, store, now: soon });
      expect(d.admitted).to.equal(true);
      const otherImage = join(dir, "other.img");
      makeDebianImage(otherImage, { packages: DEFAULT_PACKAGES });
      const none = await admitImage(otherImage, policy(), { keys, store, now: soon });
      expect(none.reasons.map((r) => r.rule)).to.deep.equal(["attestation"]);
    } finally {
      await store.close();
    }
  });

  it("attests a qcow2 of the same filesystem to the same contents; refuses a qcow2 overlay", async () => {
    const q = join(dir, "appliance.qcow2");
    sh("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", image, q]);
    const qd = await attestImage(q, { signingKey: signer.privateKey, issuer: "ci@site", appliance: { name: "torque-head", version: "1.2" }, now: issued });
    expect(qd.subject.format).to.equal("qcow2");
    expect(qd.subject.digest).to.not.equal(doc.subject.digest);
    expect({ ...qd.config, p: qd.packages, l: qd.patchLevel }).to.deep.equal({ ...doc.config, p: doc.packages, l: doc.patchLevel });
    expect((await admitImage(q, policy(), { keys, attestation: qd, now: soon })).admitted).to.equal(true);
    const overlay = join(dir, "overlay.qcow2");
    sh("qemu-img", ["create", "-q", "-f", "qcow2", "-b", q, "-F", "qcow2", overlay]);
    const d = await admitImage(overlay, policy(), { keys, attestation: qd, now: soon });
    expect(d.reasons.map((r) => r.rule)).to.deep.equal(["subject"]);
    let err: unknown;
    await attestImage(overlay, { signingKey: signer.privateKey, issuer: "x", appliance: { name: "x", version: "1" } }).catch((e: unknown) => (err = e));
    expect((err as { code?: string }).code).to.equal("IMAGE");
  });

  it("refuses a missing image without throwing", async () => {
    const d = await admitImage(join(dir, "nope.img"), policy(), { keys, attestation: doc, now: soon });
    expect(d.reasons.map((r) => r.rule)).to.deep.equal(["subject"]);
  });

  it("signs over the canonical bytes: re-serialised JSON with other whitespace and key order still verifies", async () => {
    const reorder = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reorder) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reorder(x)])) : v;
    const pretty = JSON.stringify(reorder(JSON.parse(serializeAttestation(doc))), null, 2);
    expect(pretty.indexOf('"type"')).to.be.lessThan(pretty.indexOf('"agent"'));
    writeFileSync(join(dir, "pretty.json"), pretty);
    const d = await admitImage(image, policy(), { keys, attestation: readFileSync(join(dir, "pretty.json"), "utf8"), now: soon });
    expect(d.admitted).to.equal(true);
  });
});
