// The real Debian appliance image (hypervisor/appliance, built into the shared cache on first use):
// attested through qcow2 -> raw -> debugfs, its package list checked against dpkg-query's own
// reading of the same status file.
import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveCacheDir, stderrProgress } from "../../../hypervisor/appliance/cache.js";
import { ensureApplianceImage } from "../../../hypervisor/appliance/image.js";
import { admitImage, attestImage, keyFingerprint, parsePolicy } from "../../../hypervisor/attest/index.js";
import { sh } from "./debian-image.js";

describe("attest: the real cached appliance image", function () {
  this.timeout(300_000);
  let image: string;
  let tmp: string;
  before(async function () {
    this.timeout(1_800_000); // the first build on a fresh machine debootstraps (minutes)
    image = (await ensureApplianceImage(await resolveCacheDir(), {}, stderrProgress)).base;
    tmp = mkdtempSync(join(tmpdir(), "vacfg-attest-appliance-"));
  });
  after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  it("attests packages exactly as dpkg-query reads them, Debian 12 patch level, and is admitted", async () => {
    const key = generateKeyPairSync("ed25519");
    const doc = await attestImage(image, { signingKey: key.privateKey, issuer: "test", configPaths: ["/etc"], appliance: { name: "appliance", version: "test" } });
    expect(doc.subject.format).to.equal("qcow2");
    expect(doc.patchLevel.osId).to.equal("debian");
    expect(doc.patchLevel.versionId).to.equal("12");
    expect(doc.patchLevel.debianVersion).to.match(/^12\.\d+$/);
    expect(doc.config.files).to.be.greaterThan(50);

    // independent reading: our own raw copy, debugfs dump, dpkg-query --admindir
    const raw = join(tmp, "raw");
    sh("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", image, raw]);
    mkdirSync(join(tmp, "admin"));
    spawnSync("debugfs", ["-R", `dump /var/lib/dpkg/status ${join(tmp, "admin", "status")}`, raw]);
    const want = sh("dpkg-query", [`--admindir=${join(tmp, "admin")}`, "-W", "-f", "${db:Status-Status} ${Package} ${Architecture} ${Version}\n"])
      .split("\n")
      .filter((l) => l.startsWith("installed "))
      .map((l) => l.split(" ").slice(1).join(" "))
      .sort();
    expect(want.length).to.be.greaterThan(50);
    expect(doc.packages.map((p) => `${p.name} ${p.arch} ${p.version}`).sort()).to.deep.equal(want);
    expect(doc.patchLevel.stableUpdates).to.equal(want.filter((l) => /[+~]deb\d+u\d+/.test(l)).length);

    const policy = parsePolicy(JSON.stringify({ trustedSigners: [keyFingerprint(key.publicKey)], maxAgeSeconds: 600, requiredPackages: [{ name: "base-files", minVersion: "12" }], minPatchLevel: { osId: "debian", versionId: "12" } }));
    const d = await admitImage(image, policy, { keys: new Map([[keyFingerprint(key.publicKey), key.publicKey]]), attestation: doc });
    expect(d.reasons).to.deep.equal([]);
  });
});
