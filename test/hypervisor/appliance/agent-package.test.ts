// The agent in the appliance image is the vacfg-agent Debian package, installed by dpkg: the image's
// dpkg database lists it at this project's version, its files are the package's, there is no agent
// tree at /opt/vacfg; the image cache follows the package's bytes; and a booted guest's boot path
// (stage 2 without a command, as the package's boot unit) runs the bundle on the image's own Node 18,
// in local mode against a repository shipped in the image (the server core without the native SQLite module).
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { AGENT_PACKAGE, GUEST_AGENT_COMMAND, GUEST_AGENT_LIB } from "../../../hypervisor/appliance/agent-package.js";
import { EXIT_MARKER } from "../../../hypervisor/appliance/boot-protocol.js";
import { resolveCacheDir, stderrProgress } from "../../../hypervisor/appliance/cache.js";
import { applianceImagePath, applianceVmSpec, createOverlay, type ApplianceImage } from "../../../hypervisor/appliance/image.js";
import { ensureRootfsTarball } from "../../../hypervisor/appliance/rootfs.js";
import { installedPackages } from "../../../hypervisor/attest/dpkg-status.js";
import { openGuestView, readGuestRegularFiles, statPaths, type GuestView } from "../../../hypervisor/attest/guest-fs.js";
import { patchImage } from "../../../hypervisor/image/patch-image.js";
import type { GuestFile } from "../../../hypervisor/image/debugfs.js";
import { QemuDriver } from "../../../hypervisor/qemu/qemu-driver.js";
import { waitForSerial } from "../../../hypervisor/vm/serial.js";
import { ensureAgentAppliance } from "../../../hypervisor/workspace/agent-appliance.js";
import { AGENT_ENTRY } from "../../../packaging/agent-layout.js";
import { buildAgentPackage, type BuiltPackage } from "../../../packaging/packages.js";
import { exampleRepo } from "../../support/paths.js";
import { projectRoot, tempDir } from "../helpers.js";

const GUEST_REPO = "/var/lib/vacfg/repo";
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** The example repository as files for patchImage, under GUEST_REPO. */
function repoFiles(dir: string): GuestFile[] {
  const out: GuestFile[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push({ path: `${GUEST_REPO}/${relative(dir, p)}`, data: readFileSync(p), mode: statSync(p).mode & 0o777 });
    }
  };
  walk(dir);
  return out;
}

describe("hypervisor/appliance: the agent in the image is the vacfg-agent package", function () {
  this.timeout(30 * 60_000);
  let dir: { path: string; remove: () => Promise<void> };
  let deb: BuiltPackage;
  let version: string;
  let image: ApplianceImage;
  let view: GuestView;
  let packaged: string;
  let driver: QemuDriver | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) throw new Error("needs root: dpkg installs the package chrooted into the image root (CI runs as root)");
    dir = await tempDir("vaimg-");
    deb = await buildAgentPackage(projectRoot, join(dir.path, "debs"));
    version = (JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as { version: string }).version;
    image = await ensureAgentAppliance(deb.path, await resolveCacheDir(), stderrProgress);
    view = openGuestView(image.base);
    packaged = join(dir.path, "pkg");
    execFileSync("dpkg-deb", ["-x", deb.path, packaged]);
  });

  after(async () => {
    if (driver) for (const vm of await driver.list()) await driver.destroy(vm.name);
    view?.close();
    await dir?.remove();
  });

  it("dpkg in the image lists vacfg-agent at this project's version; its files are the package's; no /opt/vacfg tree", () => {
    const [status, list, wrapper] = readGuestRegularFiles(view.spec, ["/var/lib/dpkg/status", `/var/lib/dpkg/info/${AGENT_PACKAGE}.list`, GUEST_AGENT_COMMAND]);
    const installed = installedPackages(status!.toString("utf8"));
    expect(installed.filter((p) => p.name === AGENT_PACKAGE)).to.deep.equal([{ name: AGENT_PACKAGE, version, arch: "all" }]);
    // the Node the bundle runs on is the image's own, Debian 12's 18; the package brings no native module
    expect(installed.find((p) => p.name === "nodejs")?.version).to.match(/^18\./);
    expect(list!.toString("utf8")).to.not.match(/\.node$|node_modules/m);
    const files = readdirSync(join(packaged, GUEST_AGENT_LIB));
    expect(files).to.include(AGENT_ENTRY);
    for (const f of files) expect(list!.toString("utf8").split("\n"), f).to.include(`${GUEST_AGENT_LIB}/${f}`);
    const inImage = readGuestRegularFiles(view.spec, files.map((f) => `${GUEST_AGENT_LIB}/${f}`));
    files.forEach((f, i) => expect(sha256(inImage[i]!), f).to.equal(sha256(readFileSync(join(packaged, GUEST_AGENT_LIB, f)))));
    expect(wrapper!.toString("utf8")).to.equal(readFileSync(join(packaged, GUEST_AGENT_COMMAND), "utf8"));
    expect(statPaths(view.spec, ["/opt/vacfg", "/opt/vacfg/node_modules"])).to.deep.equal([undefined, undefined]);
  });

  it("is cached by the package's bytes: the same package reuses the image, a changed bundle names another", async () => {
    const cacheDir = await resolveCacheDir();
    const again = await ensureAgentAppliance(deb.path, cacheDir, (m) => {
      if (!m.startsWith("agent: ")) throw new Error(`rebuilt a cached image: ${m}`);
    });
    expect(again.base).to.equal(image.base);
    // the same package rebuilt (reproducibly) keys the same image; one changed byte of the bundle another
    const rebuilt = await buildAgentPackage(projectRoot, join(dir.path, "debs2"));
    expect(sha256(readFileSync(rebuilt.path))).to.equal(sha256(readFileSync(deb.path)));
    const tree = join(dir.path, "changed");
    execFileSync("dpkg-deb", ["-R", deb.path, tree]);
    writeFileSync(join(tree, GUEST_AGENT_LIB, AGENT_ENTRY), readFileSync(join(tree, GUEST_AGENT_LIB, AGENT_ENTRY), "utf8") + "\n");
    const changed = join(dir.path, "changed.deb");
    execFileSync("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", tree, changed], { env: { ...process.env, SOURCE_DATE_EPOCH: "1767225600" } });
    const tarball = await ensureRootfsTarball(cacheDir, {}, stderrProgress);
    expect(await applianceImagePath(cacheDir, tarball, { debs: [deb.path] })).to.equal(image.base);
    expect(await applianceImagePath(cacheDir, tarball, { debs: [changed] })).to.not.equal(image.base);
  });

  it("a booted guest's boot path runs the packaged agent on the image's Node 18, here in local mode against a repository shipped in the image (VM agentimg-local)", async () => {
    const overlay = await createOverlay(image.base, join(dir.path, "agentimg-local.qcow2"));
    // No boot command: stage 2 runs the agent as the package's boot unit does, with the options of
    // /etc/default/vacfg-agent, once /etc/vacfg.conf exists. Local mode: -b base, the files of the
    // base bundle, rendered by the server core inside the guest from the repository shipped in it.
    const options = `--local ${GUEST_REPO} -u node1 -p torque-worker -b base -C /dev/null`;
    patchImage(overlay, [
      ...repoFiles(exampleRepo),
      { path: "/etc/vacfg.conf", data: "# the server is not needed: local mode\n", mode: 0o644 },
      { path: "/etc/default/vacfg-agent", data: `VACFG_AGENT_OPTIONS="${options}"\n`, mode: 0o644 },
    ]);
    const serialLog = join(dir.path, "agentimg-local.log");
    driver = new QemuDriver({ stateDir: join(dir.path, "s"), accel: "tcg", shutdownTimeoutMs: 10_000 });
    const t0 = Date.now();
    const spec = applianceVmSpec({ name: "agentimg-local", image, disk: overlay, serialLog, memoryMiB: 512 });
    expect(spec.cmdline).to.not.contain("vacfg.cmd=");
    await driver.create(spec);
    const log = (
      await waitForSerial(serialLog, /reboot: Power down|VACFG-ERROR|Kernel panic/, { timeoutMs: 10 * 60_000 }).catch((e: Error) => {
        throw new Error(`${e.message}\nwhole serial log:\n${readFileSync(serialLog, "utf8")}`);
      })
    ).replace(/\r/g, "");
    console.log(`      boot + local-mode boot run + power-off under TCG: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await driver.destroy("agentimg-local");
    expect(log, log).to.not.contain("Kernel panic");
    expect(log, log).to.contain(`${EXIT_MARKER} 0`);
    // the run (quiet by default, as the boot unit's) shows in what it wrote, read from the VM's own disk
    const raw = join(dir.path, "agentimg-local.raw");
    execFileSync("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", overlay, raw]);
    expect(execFileSync("debugfs", ["-R", "cat /etc/motd", raw], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })).to.equal(readFileSync(join(exampleRepo, "Cfg/etc/motd/motd.H_node1"), "utf8"));
  });
});
