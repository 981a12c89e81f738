// The attestation document and the policy file as data: canonical bytes, and strict parsing
// whose errors name the field.
import { expect } from "chai";
import { canonicalJson, parseAttestation, signingBytes, type AttestationDocument } from "../../../protocol/attestation.js";
import { parsePolicy } from "../../../hypervisor/attest/policy.js";

const FP = "sha256:" + "ab".repeat(32);
const DOC: AttestationDocument = {
  type: "vacfg-attestation",
  version: 1,
  subject: { digest: "sha256:" + "00".repeat(32), format: "ext", size: 4096 },
  appliance: { name: "a", version: "1" },
  agent: null,
  config: { paths: ["/etc/vacfg"], digest: "sha256:" + "11".repeat(32), files: 3 },
  packages: [{ name: "bash", version: "5.2.15-2+b2", arch: "amd64" }],
  patchLevel: { osId: "debian", versionId: "12", debianVersion: null, stableUpdates: 0 },
  issuedAt: "2026-01-01T00:00:00.000Z",
  issuer: "me",
  signature: { alg: "ed25519", keyFingerprint: FP, value: "A".repeat(86) + "==" },
};

function errorOf(f: () => unknown): { code?: string; message: string } {
  try {
    f();
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error("did not throw");
}

describe("attest: attestation document", () => {
  it("serialises canonically: sorted keys at every level, no whitespace, unicode as JSON escapes it", () => {
    expect(canonicalJson({ b: 1, a: [{ d: "x", c: null }], "é": "ü\n" })).to.equal('{"a":[{"c":null,"d":"x"}],"b":1,"é":"ü\\n"}');
    expect(errorOf(() => canonicalJson({ a: 1.5 })).message).to.contain("$.a");
  });

  it("signs everything but the signature", () => {
    const bytes = signingBytes(DOC).toString();
    expect(bytes).to.not.contain("signature");
    expect(bytes.startsWith('{"agent":null,"appliance":')).to.equal(true);
    expect(signingBytes({ ...DOC, issuer: "you" }).equals(signingBytes(DOC))).to.equal(false);
  });

  it("round-trips and refuses each malformed field by name", () => {
    expect(parseAttestation(JSON.stringify(DOC))).to.deep.equal(DOC);
    // the agent package with its bundle's digest, and a document from before (version only)
    for (const agent of [{ version: "0.1.0", digest: FP }, { version: null }]) expect(parseAttestation(JSON.stringify({ ...DOC, agent })).agent).to.deep.equal(agent);
    const cases: Array<[string, (d: any) => void]> = [
      ["subject.digest", (d) => (d.subject.digest = "md5:00")],
      ["subject.format", (d) => (d.subject.format = "vmdk")],
      ["subject.size", (d) => (d.subject.size = -1)],
      ["packages[0].version", (d) => (d.packages[0].version = 5)],
      ["packages[0].arch", (d) => delete d.packages[0].arch],
      ["patchLevel.stableUpdates", (d) => (d.patchLevel.stableUpdates = "3")],
      ["issuedAt", (d) => (d.issuedAt = "yesterday")],
      ["signature.value", (d) => (d.signature.value = "c2ln")],
      ["config.paths[0]", (d) => (d.config.paths = ["etc"])],
      ["$.extra", (d) => (d.extra = 1)],
      ["agent.version", (d) => (d.agent = { version: 3 })],
      ["agent.digest", (d) => (d.agent = { version: "0.1.0", digest: "md5:00" })],
      ["agent.extra", (d) => (d.agent = { version: "0.1.0", extra: 1 })],
    ];
    for (const [field, mutate] of cases) {
      const d = JSON.parse(JSON.stringify(DOC));
      mutate(d);
      const e = errorOf(() => parseAttestation(JSON.stringify(d), "att.json"));
      expect(e.code, field).to.equal("ATTESTATION_INVALID");
      expect(e.message, field).to.contain(`att.json: ${field}`);
    }
    expect(errorOf(() => parseAttestation("{", "att.json")).message).to.contain("att.json: $: not JSON");
  });
});

describe("attest: admission policy file", () => {
  it("parses a full policy", () => {
    const p = parsePolicy(JSON.stringify({ trustedSigners: [FP], maxAgeSeconds: 60, requiredPackages: [{ name: "openssl", minVersion: "3.0.11-1~deb12u2" }], forbiddenPackages: ["telnetd"], minPatchLevel: { versionId: "12" }, configDigest: FP }));
    expect(p.requiredPackages).to.deep.equal([{ name: "openssl", minVersion: "3.0.11-1~deb12u2" }]);
    expect(p.minPatchLevel).to.deep.equal({ versionId: "12" });
  });

  it("names the field of every mistake", () => {
    const base = { trustedSigners: [FP] };
    const cases: Array<[string, unknown]> = [
      ["trustedSigners", { trustedSigners: [] }],
      ["trustedSigners[0]", { trustedSigners: ["SHA256:AB"] }],
      ["maxAgeSeconds", { ...base, maxAgeSeconds: "1d" }],
      ["requiredPackages[0].minVersion", { ...base, requiredPackages: [{ name: "openssl", minVersion: "1.0-" }] }],
      ["requiredPackages[0].name", { ...base, requiredPackages: [{ name: "Open SSL" }] }],
      ["requiredPackages[0].min", { ...base, requiredPackages: [{ name: "openssl", min: "1" }] }],
      ["forbiddenPackages[1]", { ...base, forbiddenPackages: ["telnetd", 7] }],
      ["minPatchLevel.versionId", { ...base, minPatchLevel: { versionId: "twelve" } }],
      ["minPatchLevel.stableUpdates", { ...base, minPatchLevel: { stableUpdates: -1 } }],
      ["configDigest", { ...base, configDigest: "abc" }],
      ["trustedSigner", { trustedSigner: [FP] }],
    ];
    for (const [field, v] of cases) {
      const e = errorOf(() => parsePolicy(JSON.stringify(v), "site-policy.json"));
      expect(e.code, field).to.equal("ADMISSION_POLICY");
      expect(e.message, field).to.contain(`site-policy.json: ${field}:`);
    }
    expect(errorOf(() => parsePolicy("[1]", "p.json")).message).to.contain("p.json: $: must be a JSON object");
  });
});
