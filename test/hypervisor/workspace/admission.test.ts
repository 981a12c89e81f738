// Admission before boot in the Workspace Service: a real small ext4 image (test/hypervisor/attest's builder)
// signed with real Ed25519 keys, a real policy file and SQLite store. Refused deploys need no VM
// and must leave nothing behind; the admitted case boots the real appliance under QEMU (root).
import { expect } from "chai";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isVacfgError } from "../../../protocol/errors.js";
import { serializeAttestation, type AttestationDocument } from "../../../protocol/attestation.js";
import { attestImage, generateSigningKey, recordAttestation } from "../../../hypervisor/attest/index.js";
import { resolveCacheDir, stderrProgress } from "../../../hypervisor/appliance/cache.js";
import { writeSiteCa } from "../../../hypervisor/ctx/site-ca.js";
import { writeGuestFiles } from "../../../hypervisor/image/debugfs.js";
import { QemuDriver } from "../../../hypervisor/qemu/qemu-driver.js";
import { createNetns, destroyNetns } from "../../../hypervisor/vm/netns.js";
import { waitForSerial } from "../../../hypervisor/vm/serial.js";
import { projectAgentAppliance } from "../../../harness/agent-appliance.js";
import { loadWorkspaceConfig, openWorkspace } from "../../../hypervisor/workspace/config.js";
import { WorkspaceService, type WorkspaceOptions } from "../../../hypervisor/workspace/service.js";
import { FIGURE1_USERS, TORQUE_CONTEXT_TEMPLATE, figure1Site } from "../../../demo/torque-appliance.js";
import { KIND } from "../../../hypervisor/workspace/types.js";
import { openStore } from "../../../server/store/open-store.js";
import type { Store } from "../../../server/store/store.js";
import { DEFAULT_PACKAGES, makeDebianImage } from "../attest/debian-image.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: isVacfgError(e) ? e.code : String(e), message: (e as Error).message };
  }
  return expect.fail("expected a refusal");
}

const sha256 = (path: string) => "sha256:" + createHash("sha256").update(readFileSync(path)).digest("hex");

describe("workspace: admission before boot", function () {
  this.timeout(10 * 60_000);
  let work: string;
  let store: Store;
  let small: string;
  let smallDoc: AttestationDocument;
  let policyFile: string;
  let trustDir: string;
  let siteKey: ReturnType<typeof generateSigningKey>;
  let rogueKey: ReturnType<typeof generateSigningKey>;
  let base: Omit<WorkspaceOptions, "appliances">;
  const instance = { count: 1, users: FIGURE1_USERS };

  const writePolicy = (p: Record<string, unknown>) => writeFileSync(policyFile, JSON.stringify({ trustedSigners: [siteKey.fingerprint], forbiddenPackages: [], requiredPackages: [], ...p }));
  const smallAppliance = (extra: Record<string, unknown> = {}) => ({ small: { template: TORQUE_CONTEXT_TEMPLATE, base: small, kernel: "/nonexistent/vmlinuz", initrd: "/nonexistent/initrd", ...extra } });

  /** Nothing leased, recorded, patched or booted. */
  async function expectNothingLeft(ws: WorkspaceService, opts: Omit<WorkspaceOptions, "appliances">): Promise<void> {
    for (const k of Object.values(KIND)) expect(await store.list(k), k).to.deep.equal([]);
    expect(await ws.deployments()).to.deep.equal([]);
    expect(existsSync(opts.stateDir) ? readdirSync(opts.stateDir) : []).to.deep.equal([]);
    expect(await opts.driver.list()).to.deep.equal([]);
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "vwa-"));
    store = await openStore(`sqlite:${join(work, "ws.db")}`);
    small = join(work, "small.img");
    makeDebianImage(small, { packages: DEFAULT_PACKAGES, debianVersion: "12.5" });
    siteKey = generateSigningKey(join(work, "keys"), "site");
    rogueKey = generateSigningKey(join(work, "keys"), "rogue");
    trustDir = join(work, "trust");
    mkdirSync(trustDir);
    copyFileSync(siteKey.publicPath, join(trustDir, "site.pub")); // the rogue key is not trusted
    smallDoc = await attestImage(small, { signingKey: siteKey.privatePath, issuer: "ci@site", appliance: { name: "small", version: "1" } });
    policyFile = join(work, "policy.json");
    writePolicy({ requiredPackages: [{ name: "nodejs" }] });
    base = {
      store,
      driver: new QemuDriver({ stateDir: join(work, "q"), accel: "tcg" }),
      site: figure1Site(writeSiteCa(join(work, "ca"))),
      stateDir: join(work, "vms"),
      admission: { policy: policyFile, trustDir },
    };
  });

  after(async () => {
    await store?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("refuses a base image nobody attested: ADMISSION naming the rule, before any lease, overlay or record", async () => {
    const ws = new WorkspaceService({ ...base, appliances: smallAppliance() });
    const r = await refusal(ws.deploy({ name: "a", appliance: "small", instance }));
    expect(r.code).to.equal("ADMISSION");
    expect(r.message).to.contain(`appliance "small": base image ${small} refused by ${policyFile}: attestation: no attestation for image ${sha256(small)}`);
    await expectNothingLeft(ws, base);
  });

  it("finds the attestation in the store and refuses by policy, naming every rule; the policy is read again per deploy", async () => {
    await recordAttestation(store, smallDoc);
    try {
      const ws = new WorkspaceService({ ...base, appliances: smallAppliance() });
      const first = await refusal(ws.deploy({ name: "a", appliance: "small", instance }));
      expect(first.code).to.equal("ADMISSION");
      expect(first.message).to.match(/refused by [^:]+: requiredPackages\[0\]: [^;]*nodejs[^;]*$/);
      // a stricter policy, same service: both refusals, each under its rule
      writePolicy({ requiredPackages: [{ name: "openssl", minVersion: "3.0.12-1" }], forbiddenPackages: ["telnetd", "vim-tiny"] });
      const second = await refusal(ws.deploy({ name: "a", appliance: "small", instance }));
      expect(second.code).to.equal("ADMISSION");
      const reasons = second.message.slice(second.message.indexOf(`${policyFile}: `) + policyFile.length + 2).split("; ");
      expect(reasons.map((x) => x.slice(0, x.indexOf(":")))).to.deep.equal(["requiredPackages[0]", "forbiddenPackages[1]"]);
      expect(reasons[0]).to.contain("3.0.11-1~deb12u2");
      expect(reasons[1]).to.contain("vim-tiny");
      await expectNothingLeft(ws, base);
    } finally {
      await store.delete("attestation", smallDoc.subject.digest);
      writePolicy({ requiredPackages: [{ name: "nodejs" }] });
    }
  });

  it("takes the attestation given with the appliance: refuses an untrusted signer, other bytes, and a damaged document", async () => {
    writePolicy({ requiredPackages: [{ name: "openssl" }] }); // would admit the small image
    try {
      const rogueDoc = await attestImage(small, { signingKey: rogueKey.privatePath, issuer: "mallory", appliance: { name: "small", version: "1" } });
      const untrusted = new WorkspaceService({ ...base, appliances: smallAppliance({ attestation: rogueDoc }) });
      const r1 = await refusal(untrusted.deploy({ name: "a", appliance: "small", instance }));
      expect(r1.code).to.equal("ADMISSION");
      expect(r1.message).to.match(/: signature: /);
      await expectNothingLeft(untrusted, base);

      // the image changed after it was attested: one file rewritten inside it
      const changed = join(work, "changed.img");
      copyFileSync(small, changed);
      writeGuestFiles(changed, [{ path: "/etc/vacfg/site.conf", data: "[site]\nname = tampered\n", mode: 0o644 }]);
      const swapped = new WorkspaceService({ ...base, appliances: { small: { ...smallAppliance().small, base: changed, attestation: serializeAttestation(smallDoc) } } });
      const r2 = await refusal(swapped.deploy({ name: "a", appliance: "small", instance }));
      expect(r2.message).to.match(/: subject\.digest: image is sha256:[0-9a-f]{64} .* but the attestation is for /);
      await expectNothingLeft(swapped, base);

      const damaged = new WorkspaceService({ ...base, appliances: smallAppliance({ attestation: "{not json" }) });
      const r3 = await refusal(damaged.deploy({ name: "a", appliance: "small", instance }));
      expect(r3.message).to.match(/: attestation: /);
      await expectNothingLeft(damaged, base);
    } finally {
      writePolicy({ requiredPackages: [{ name: "nodejs" }] });
    }
  });

  it("workspace.json: admission paths and attestation files resolve against the file; bad settings fail at start, naming the field or file", async () => {
    const dir = join(work, "cfg");
    mkdirSync(dir);
    writeFileSync(join(dir, "site.json"), JSON.stringify(base.site));
    writeFileSync(join(dir, "small.ctx.xml"), TORQUE_CONTEXT_TEMPLATE);
    const rogueDoc = await attestImage(small, { signingKey: rogueKey.privatePath, issuer: "mallory", appliance: { name: "small", version: "1" } });
    writeFileSync(join(dir, "small.attestation.json"), serializeAttestation(rogueDoc));
    copyFileSync(policyFile, join(dir, "policy.json"));
    const cfg = {
      store: "sqlite:cfg.db", stateDir: "vms", site: "site.json",
      appliances: { small: { template: "small.ctx.xml", base: small, kernel: "/nonexistent/vmlinuz", initrd: "/nonexistent/initrd", attestation: "small.attestation.json" } },
      admission: { policy: "policy.json", trustDir: "../trust" },
    };
    const file = join(dir, "workspace.json");
    writeFileSync(file, JSON.stringify(cfg));
    const loaded = loadWorkspaceConfig(file);
    expect(loaded.admission).to.deep.equal({ policy: join(dir, "policy.json"), trustDir: trustDir });
    expect(loaded.appliances.small.attestation).to.equal(join(dir, "small.attestation.json"));
    // opened for real: the attestation file is the one admission checks (signed by the untrusted key)
    const open = await openWorkspace(loaded);
    try {
      const r = await refusal(open.service.deploy({ name: "a", appliance: "small", instance }));
      expect(r.code).to.equal("ADMISSION");
      expect(r.message).to.match(/: signature: /);
      for (const k of Object.values(KIND)) expect(await open.store.list(k), k).to.deep.equal([]);
    } finally {
      await open.close();
    }

    writeFileSync(file, JSON.stringify({ ...cfg, admission: { policy: "policy.json", trustDir: "../trust", mode: "warn" } }));
    const unknown = await refusal(Promise.resolve().then(() => loadWorkspaceConfig(file)));
    expect(unknown).to.deep.equal({ code: "WORKSPACE_REQUEST", message: `${file}: admission.mode: unknown field (known: policy, trustDir)` });
    const noPolicy = await refusal(Promise.resolve().then(() => new WorkspaceService({ ...base, admission: { policy: join(dir, "missing.json"), trustDir }, appliances: smallAppliance() })));
    expect(noPolicy.code).to.equal("ADMISSION_POLICY");
    expect(noPolicy.message).to.contain(join(dir, "missing.json"));
    const noTrust = await refusal(Promise.resolve().then(() => new WorkspaceService({ ...base, admission: { policy: policyFile, trustDir: join(dir, "no-such-dir") }, appliances: smallAppliance() })));
    expect(noTrust.code).to.equal("ATTEST_KEY");
    expect(noTrust.message).to.contain(join(dir, "no-such-dir"));
  });

  describe("an admitted appliance boots (root: network namespace, QEMU)", () => {
    const netns = `vacfg-wa-${process.pid}`;
    let nsMade = false;

    after(async () => {
      if (nsMade) await destroyNetns(netns);
    });

    it("admits the attested base (not the overlay), records who vouched for it, and boots it", async function () {
      if (process.getuid?.() !== 0) this.skip();
      const image = await projectAgentAppliance(projectRoot, await resolveCacheDir(), stderrProgress);
      const doc = await attestImage(image.base, { signingKey: siteKey.privatePath, issuer: "ci@site", appliance: { name: "torque", version: "test" } });
      await recordAttestation(store, doc);
      // the appliance is Debian 12 with Node and no telnetd: what a site would ask for
      writePolicy({ maxAgeSeconds: 3600, requiredPackages: [{ name: "nodejs", minVersion: "18" }], forbiddenPackages: ["telnetd"], minPatchLevel: { osId: "debian", versionId: "12" } });
      const ns = await createNetns({ name: netns, cidr: "10.0.0.0/24", taps: 1, tapPrefix: "atap" });
      nsMade = true;
      const opts = { ...base, driver: new QemuDriver({ stateDir: join(work, "q2"), netns, accel: "tcg" }), stateDir: join(work, "vms2"), network: { taps: ns.taps }, resources: { memoryMiB: 192 } };
      const ws = new WorkspaceService({ ...opts, appliances: { torque: { template: TORQUE_CONTEXT_TEMPLATE, base: image.base, kernel: image.vmlinuz, initrd: image.initrd, command: "echo ADMITTED-GUEST-UP; while sleep 1; do :; done" } } });
      try {
        const r = await ws.deploy({ name: "ok", appliance: "torque", instance });
        expect(r.deployment.admission).to.deep.equal({ digest: sha256(image.base), signer: siteKey.fingerprint, issuer: "ci@site", issuedAt: doc.issuedAt, policy: policyFile });
        expect((await store.get(KIND.deployment, "ok"))).to.deep.include({ admission: r.deployment.admission });
        // the VM runs its own overlay of that base
        expect(r.vms[0].overlay).to.not.equal(image.base);
        await waitForSerial(r.vms[0].serialLog, "ADMITTED-GUEST-UP", { timeoutMs: 300_000, pollMs: 500 });
        expect((await ws.list()).map((v) => [v.name, v.phase])).to.deep.equal([["ok-node1", "running"]]);
      } finally {
        await ws.destroy("ok").catch(() => undefined);
      }
      for (const k of Object.values(KIND)) expect(await store.list(k), k).to.deep.equal([]);
      expect(await opts.driver.list()).to.deep.equal([]);
      expect(readdirSync(opts.stateDir).filter((f) => f.endsWith(".qcow2"))).to.deep.equal([]);
    });
  });
});
