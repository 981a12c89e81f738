// Issue 17's appliance lifecycle from the command line, as a site would run it (root: debootstrap,
// chroot, loop mount, QEMU): `vacfg image build appliance` from the example repository ->
// `vacfg attest verify` (admission) -> `vacfg deploy` boots it (one VM, "imagecli") -> `vacfg image update`
// upgrades a package from a local APT repository on 127.0.0.1 and re-attests, so the site's admission
// sees the new version, and refuses to re-sign when an appliance test fails (image and attestation
// byte-identical).
import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FIGURE1_USERS } from "../../../demo/torque-appliance.js";
import { waitForSerial } from "../../../hypervisor/vm/serial.js";
import { makeSiteSandbox, type SiteSandbox } from "../../support/figure1.js";
import { exampleRepo, projectRoot } from "../../support/paths.js";

const CLI = resolve(projectRoot, "dist/cli/vacfg.js");

interface Run {
  status: number | null;
  out: string;
  err: string;
}

/** The CLI as a child process (async: the test's APT server must keep answering meanwhile). */
function vacfg(args: string[]): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("close", (status) => done({ status, out, err }));
  });
}

function sh(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const sha256 = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

/** A flat APT repository with `pkg` rebuilt at a newer version (dpkg-deb + dpkg-scanpackages). */
function newerPackageRepo(dir: string, pkg: string, version: string): string {
  const work = join(dir, "apt-build");
  mkdirSync(work, { recursive: true });
  sh("apt-get", ["download", pkg], work);
  const deb = readdirSync(work).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"))!;
  const tree = join(work, "tree");
  sh("dpkg-deb", ["-R", deb, tree], work);
  const control = join(tree, "DEBIAN", "control");
  writeFileSync(control, readFileSync(control, "utf8").replace(/^Version: .*$/m, `Version: ${version}`));
  const repo = join(dir, "apt-repo");
  mkdirSync(repo);
  sh("dpkg-deb", ["--root-owner-group", "-b", tree, join(repo, `${pkg}_${version}_all.deb`)]);
  writeFileSync(join(repo, "Packages"), sh("dpkg-scanpackages", [".", "/dev/null"], repo));
  return repo;
}

/** Serves a directory read-only on 127.0.0.1 (what apt asks of a flat repository). */
async function serveDir(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\/+/, "");
    const file = join(dir, rel);
    if (rel.includes("..") || !existsSync(file) || !rel) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200);
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return server;
}

describe("appliance lifecycle: vacfg image build -> attest -> admit -> deploy -> image update (root)", function () {
  this.timeout(1_800_000);
  let dir: string;
  let sb: SiteSandbox;
  let repo: string;
  let img: string;
  let att: string;
  let ws: string;
  let boot: { kernel: string; initrd: string };
  let agentDeb: string;
  const key = () => join(dir, "keys", "attest.key");

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error("this test needs root (debootstrap, chroot, loop mount, QEMU); CI runs it as root");
    dir = mkdtempSync(join(tmpdir(), "vacfg-imagecli-"));
    sb = makeSiteSandbox();
    repo = join(dir, "repo");
    cpSync(exampleRepo, repo, { recursive: true });
    const kg = await vacfg(["attest", "keygen", "--out", join(dir, "keys")]);
    expect(kg.status, kg.err).to.equal(0);
    // the agent's Debian package (npm run package): the bundle, boot unit and timer
    sh(process.execPath, [resolve(projectRoot, "dist/packaging/build-packages.js"), join(dir, "debs")]);
    agentDeb = join(dir, "debs", readdirSync(join(dir, "debs")).find((f) => f.startsWith("vacfg-agent_"))!);
  });
  after(async () => {
    if (ws) await vacfg(["vm", "destroy", "imagecli", "-w", ws]);
    rmSync(dir, { recursive: true, force: true });
    sb?.cleanup();
  });

  const policy = (extra: Record<string, unknown>) => {
    const fp = JSON.parse(readFileSync(att, "utf8")).signature.keyFingerprint as string;
    const p = join(dir, "policy.json");
    writeFileSync(p, JSON.stringify({ trustedSigners: [fp], requiredPackages: [{ name: "openssh-server" }, { name: "nodejs", minVersion: "18" }], minPatchLevel: { osId: "debian", versionId: "12" }, ...extra }));
    return p;
  };
  const verify = (p: string) => vacfg(["attest", "verify", img, "--attestation", att, "--policy", p, "--trust", join(dir, "keys")]);

  it("builds the example repository's appliance profile: raw + qcow2, the profile applied, attestations signed", async () => {
    const r = await vacfg(["image", "build", "appliance", "-r", repo, "-o", join(dir, "out"), "-t", sb.templatePath, "--key", key(), "--issuer", "ci@imagecli", "--image-version", "1.0", "--agent-deb", agentDeb]);
    expect(r.status, r.err.slice(-3000)).to.equal(0);
    // progress on stderr: the cached layers, the local agent run, the appliance's own tests
    expect(r.err).to.contain("packages for the base layer: ca-certificates, nodejs, openssh-server");
    expect(r.err).to.match(/appliance test 20-ssh: passed/);
    boot = { kernel: /^kernel: (.*)$/m.exec(r.out)![1], initrd: /^initrd: (.*)$/m.exec(r.out)![1] };
    img = join(dir, "out", "appliance.qcow2");
    att = `${img}.attestation.json`;
    expect(readdirSync(join(dir, "out")).sort()).to.deep.equal(["appliance.qcow2", "appliance.qcow2.attestation.json", "appliance.raw", "appliance.raw.attestation.json"]);
    expect(sh("qemu-img", ["info", "--output=json", img])).to.contain('"format": "qcow2"');
    // the raw image is the ext4 root: the profile's files are in it
    const raw = join(dir, "out", "appliance.raw");
    const motd = spawnSync("debugfs", ["-R", "cat /etc/motd", raw], { encoding: "utf8" }).stdout;
    expect(motd).to.equal(readFileSync(join(exampleRepo, "Cfg/etc/motd/motd"), "utf8"));
    const rec = JSON.parse(spawnSync("debugfs", ["-R", "cat /etc/vacfg/image.json", raw], { encoding: "utf8" }).stdout);
    expect(rec).to.include({ name: "appliance", version: "1.0", profile: "appliance" });
    expect(spawnSync("debugfs", ["-R", "cat /etc/vacfg/ctx-template.xml", raw], { encoding: "utf8" }).stdout).to.equal(readFileSync(sb.templatePath, "utf8"));
    const doc = JSON.parse(readFileSync(att, "utf8"));
    expect(doc.subject.digest).to.equal(`sha256:${sha256(img)}`);
    expect(doc.appliance).to.deep.equal({ name: "appliance", version: "1.0" });
    expect(doc.config.paths).to.deep.equal(["/etc/vacfg", "/var/lib/vacfg/repo"]);
    expect(doc.packages.map((p: { name: string }) => p.name)).to.include.members(["openssh-server", "nodejs", "ca-certificates", "vacfg-agent"]);
    // the agent is that package, installed by dpkg (no tree at /opt/vacfg), attested with its bundle's digest
    const version = (JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as { version: string }).version;
    expect(doc.agent.version).to.equal(version);
    expect(doc.agent.digest).to.match(/^sha256:[0-9a-f]{64}$/);
    expect(spawnSync("debugfs", ["-R", "stat /opt/vacfg", raw], { encoding: "utf8" }).stderr).to.contain("File not found");
    // the package's maintainer scripts enabled its boot unit and timer offline
    const wants = spawnSync("debugfs", ["-R", "ls -l /etc/systemd/system/timers.target.wants", raw], { encoding: "utf8" }).stdout;
    expect(wants).to.contain("vacfg-agent.timer");
  });

  it("is admitted by the site's policy, and deploys: one VM boots the admitted image", async () => {
    const ok = await verify(policy({}));
    expect(ok.status, ok.out + ok.err).to.equal(0);
    expect(ok.out).to.match(/^admitted .*appliance 1\.0/);

    ws = join(dir, "workspace.json");
    writeFileSync(ws, JSON.stringify({
      store: "sqlite:ws.db", stateDir: "vms", site: sb.sitePath,
      appliances: { appliance: { template: sb.templatePath, base: img, kernel: boot.kernel, initrd: boot.initrd, attestation: att,
        command: "echo IMAGECLI-UP; cat /etc/vacfg/image.json | tr -d '\\n '; echo; sh /var/lib/vacfg/repo/Appliance/tests/20-ssh && echo IMAGECLI-SSH-OK; grep -c '<Param ' /etc/vacfg/context.xml" } },
      admission: { policy: join(dir, "policy.json"), trustDir: join(dir, "keys") },
      accel: "tcg",
    }));
    const req = join(dir, "request.json");
    writeFileSync(req, JSON.stringify({ name: "imagecli", appliance: "appliance", instance: { count: 1, users: FIGURE1_USERS }, resources: { memoryMiB: 384 } }));
    const d = await vacfg(["deploy", req, "-w", ws]);
    expect(d.status, d.err).to.equal(0);
    const row = d.out.split("\n").find((l) => l.startsWith("imagecli-node1"))!;
    const serial = row.split("\t").pop()!;
    await waitForSerial(serial, "VACFG-EXIT", { timeoutMs: 600_000, pollMs: 1000 });
    const log = readFileSync(serial, "utf8");
    expect(log).to.contain("IMAGECLI-UP").and.contain('"profile":"appliance"').and.contain("IMAGECLI-SSH-OK");
    expect(log).to.match(/VACFG-EXIT 0/);
    const destroy = await vacfg(["vm", "destroy", "imagecli", "-w", ws]);
    expect(destroy.status, destroy.err).to.equal(0);
  });

  it("image update: a newer package from a local APT repository on 127.0.0.1; the site's admission sees it", async () => {
    const old = JSON.parse(readFileSync(att, "utf8")).packages.find((p: { name: string }) => p.name === "ca-certificates").version as string;
    const newer = `${old}+imagecli1`;
    const aptRepo = newerPackageRepo(dir, "ca-certificates", newer);
    const server = await serveDir(aptRepo);
    const source = `deb [trusted=yes] http://127.0.0.1:${(server.address() as AddressInfo).port}/ ./`;
    const wants = policy({ requiredPackages: [{ name: "ca-certificates", minVersion: newer }] });
    const before = await verify(wants);
    expect(before.status).to.equal(3);
    expect(before.out).to.contain("[requiredPackages[0]]");
    try {
      const u = await vacfg(["image", "update", img, "--apt-source", source, "--key", key(), "--issuer", "ci@imagecli", "--image-version", "1.1"]);
      expect(u.status, u.err.slice(-3000)).to.equal(0);
      expect(u.out).to.contain(`upgraded ca-certificates ${old} -> ${newer}`).and.contain("3 appliance test(s) passed");
    } finally {
      server.close();
    }
    const doc = JSON.parse(readFileSync(att, "utf8"));
    expect(doc.subject.digest).to.equal(`sha256:${sha256(img)}`);
    expect(doc.appliance.version).to.equal("1.1");
    const after = await verify(wants);
    expect(after.status, after.out).to.equal(0);
  });

  it("image update refuses to re-sign when an appliance test fails: image and attestation byte-identical", async () => {
    const bad = join(dir, "repo-bad");
    cpSync(repo, bad, { recursive: true });
    writeFileSync(join(bad, "Appliance/tests/40-disk-quota"), "#!/bin/sh\necho 'quota tools missing'\nexit 1\n");
    chmodSync(join(bad, "Appliance/tests/40-disk-quota"), 0o755);
    const [imgBefore, attBefore] = [sha256(img), sha256(att)];
    const u = await vacfg(["image", "update", img, "-r", bad, "--key", key(), "--issuer", "ci@imagecli"]);
    expect(u.status).to.equal(1);
    expect(u.err).to.contain("1 of 4 appliance test(s) failed: Appliance/tests/40-disk-quota: exit 1: quota tools missing");
    expect([sha256(img), sha256(att)]).to.deep.equal([imgBefore, attBefore]);
    expect(readdirSync(join(dir, "out")).sort()).to.deep.equal(["appliance.qcow2", "appliance.qcow2.attestation.json", "appliance.raw", "appliance.raw.attestation.json"]);
  });
});
