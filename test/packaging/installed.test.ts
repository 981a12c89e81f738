// The Debian packages installed as a site would (issue 17): `npm run package`'s code builds them,
// they are installed with dpkg into a Debian root booted with systemd (systemd-nspawn, private
// network), and then: the server runs as its own user, hardened, reported ready when it listens,
// logging to the journal; the agent's unit gets this machine's configuration from it over TLS; the
// agent's timer runs it again; `systemctl stop` ends the server cleanly; after a reboot the server
// starts by itself and the boot unit runs the agent before vacfg-configured.target.
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { AGENT_CODE_CACHE_DIR, AGENT_ENTRY, AGENT_MODULE } from "../../packaging/agent-layout.js";
import { buildPackages, type BuiltPackage } from "../../packaging/packages.js";
import { bootContainer, removeRoot, unpackSystemdRoot, type BootedContainer } from "../../harness/systemd-container.js";

const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const NAME = `vacfg-service-${process.pid}`;

interface ClientRow {
  name: string;
  lastRun?: { id: number; timestamp: number; state: string };
}

describe("the Debian packages, installed into a booted systemd root", function () {
  this.timeout(600_000);
  let out: string;
  let stage: string;
  let debs: BuiltPackage[];
  let root: string | undefined;
  let box: BootedContainer | undefined;
  const bootLog: string[] = [];
  const measured: string[] = [];

  const runs = async (): Promise<ClientRow | undefined> =>
    (JSON.parse(await box!.shOk("vacfg reports clients --json -c /etc/vacfg/vacfg.conf")) as ClientRow[]).find((c) => c.name === NAME);
  const prop = async (unit: string, p: string): Promise<string> => (await box!.shOk(`systemctl show -p ${p} --value ${unit}`)).trim();

  before(async function () {
    out = await mkdtemp(join(tmpdir(), "vacfg-service-debs-"));
    stage = await mkdtemp(join(tmpdir(), "vacfg-service-stage-"));
    let t = Date.now();
    debs = await buildPackages(PROJECT, out, stage);
    measured.push(`packages built in ${((Date.now() - t) / 1000).toFixed(1)} s: ${debs.map((d) => `${d.name} ${(d.bytes / 1024).toFixed(0)} KiB`).join(", ")}`);
    t = Date.now();
    root = await unpackSystemdRoot();
    await mkdir(join(root, "root/debs"));
    for (const d of debs) await copyFile(d.path, join(root, "root/debs", basename(d.path)));
    box = await bootContainer(root, NAME, bootLog);
    measured.push(`root unpacked and booted in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  });

  after(async function () {
    await box?.poweroff();
    if (root) await removeRoot(root);
    await rm(out, { recursive: true, force: true });
    await rm(stage, { recursive: true, force: true });
    console.log(`      ${measured.join("; ")}`);
  });

  it("builds the four packages with their control data", async function () {
    expect(debs.map((d) => d.name)).to.deep.equal(["vacfg", "vacfg-server", "vacfg-agent", "vacfg-hypervisor"]);
    const info = await box!.shOk("for d in /root/debs/*.deb; do dpkg-deb -f $d Package Depends; done");
    expect(info).to.match(/Package: vacfg-agent\nDepends: nodejs \(>= 18\)/);
    expect(info).to.match(/Package: vacfg-server\nDepends: vacfg \(= [^)]+\), perl-base, passwd/);
    // The agent is one file: no node_modules tree.
    const agentFiles = await box!.shOk("dpkg-deb -c /root/debs/vacfg-agent_*.deb | awk '{print $6}'");
    expect(agentFiles).to.include(`./usr/lib/vacfg-agent/${AGENT_ENTRY}`);
    expect(agentFiles).to.not.include("node_modules");
  });

  it("installs; vacfg-server is active once it listens, as user vacfg, hardened, logging to the journal", async function () {
    // vacfg-hypervisor is left out: it depends on QEMU and the image tools, which this root lacks.
    await box!.shOk("dpkg -i /root/debs/vacfg_*.deb /root/debs/vacfg-server_*.deb /root/debs/vacfg-agent_*.deb", 300_000);
    for (const p of ["vacfg", "vacfg-server", "vacfg-agent"]) expect((await box!.shOk(`dpkg-query -W -f '\${Status}' ${p}`)).trim(), p).to.equal("install ok installed");
    // Type=notify: "active" only after READY=1, which the server sends once it listens.
    expect(await prop("vacfg-server", "ActiveState")).to.equal("active");
    expect(await prop("vacfg-server", "StatusText")).to.match(/^listening on https:\/\/127\.0\.0\.1:6789$/);
    const pid = await prop("vacfg-server", "MainPID");
    expect(await box!.shOk(`stat -c %U /proc/${pid}`)).to.equal("vacfg\n");
    expect(await box!.shOk(`grep NoNewPrivs /proc/${pid}/status`)).to.match(/NoNewPrivs:\s+1/);
    // ProtectSystem=strict: / read-only in the service's namespace, the data directory and the repository writable.
    const mounts = (await box!.shOk(`cat /proc/${pid}/mountinfo`)).split("\n").map((l) => l.split(" "));
    const opts = (mp: string) => mounts.find((f) => f[4] === mp)?.[5] ?? "";
    expect(opts("/")).to.match(/^ro\b/);
    expect(opts("/var/lib/vacfg")).to.match(/^rw\b/);
    expect(opts("/srv/vacfg/repo")).to.match(/^rw\b/);
    expect(opts("/tmp"), "PrivateTmp").to.match(/^rw\b/);
    expect(await box!.shOk("stat -c '%a %U' /var/lib/vacfg /etc/vacfg/vacfg.conf /etc/vacfg/tls/ca.key")).to.equal("700 vacfg\n640 root\n600 root\n");
    expect(await box!.shOk("journalctl -u vacfg-server --no-pager -o cat")).to.match(/vacfg server listening on https:\/\/127\.0\.0\.1:6789/);
  });

  it("the agent's unit gets this machine's configuration from the server over TLS", async function () {
    await box!.shOk(`printf '[communication]\\npassword = %s\\nca = /etc/vacfg/tls/ca.crt\\nuser = ${NAME}\\n\\n[components]\\nbcfg2 = https://localhost:6789\\n' "$(cat /etc/vacfg/password)" > /etc/vacfg.conf && chmod 600 /etc/vacfg.conf`);
    await box!.shOk("systemctl start vacfg-agent.service");
    expect(await prop("vacfg-agent.service", "Result")).to.equal("success");
    const row = await runs();
    expect(row?.lastRun, "the run the server stored").to.include({ id: 1 });
    // the first run left its V8 code cache for the next ones
    expect((await box!.shOk(`ls ${AGENT_CODE_CACHE_DIR}`)).split("\n")).to.include(`${AGENT_MODULE}.v8cache`);
  });

  it("the agent's timer runs the agent again, with the code cache the first run left (not written again)", async function () {
    const before = (await runs())!.lastRun!.id;
    const cacheInode = async () => (await box!.shOk(`stat -c %i ${AGENT_CODE_CACHE_DIR}/${AGENT_MODULE}.v8cache`)).trim();
    const inode = await cacheInode();
    // The hourly period shortened for the test; the jitter (RandomizedDelaySec) stays. AccuracySec too:
    // its default (1 min) lets systemd fire the timer up to a minute late, as long as the wait below.
    await box!.shOk("mkdir -p /etc/systemd/system/vacfg-agent.timer.d && printf '[Timer]\\nOnBootSec=\\nOnUnitInactiveSec=\\nOnActiveSec=1s\\nRandomizedDelaySec=3s\\nAccuracySec=1s\\n' > /etc/systemd/system/vacfg-agent.timer.d/soon.conf && systemctl daemon-reload && systemctl restart vacfg-agent.timer");
    let row: ClientRow | undefined;
    // Up to three minutes (not a count of polls: each poll's own time depends on the machine).
    for (const until = Date.now() + 180_000; !((row = await runs())?.lastRun && row.lastRun.id > before) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 500));
    expect(row?.lastRun?.id, "a run after the timer fired").to.be.greaterThan(before);
    expect(await prop("vacfg-agent.timer", "LastTriggerUSec")).to.not.equal("n/a");
    expect(await cacheInode()).to.equal(inode);
    await box!.shOk("rm -r /etc/systemd/system/vacfg-agent.timer.d && systemctl daemon-reload");
  });

  it("systemctl stop ends the server with exit status 0", async function () {
    const t = Date.now();
    await box!.shOk("systemctl stop vacfg-server");
    measured.push(`systemctl stop vacfg-server: ${Date.now() - t} ms`);
    expect(await prop("vacfg-server", "ExecMainStatus")).to.equal("0");
    expect(await prop("vacfg-server", "Result")).to.equal("success");
  });

  it("after a reboot the server starts by itself and the boot unit runs the agent before vacfg-configured.target", async function () {
    const before = (await runs())!.lastRun!.id;
    // Here the server runs on the same machine, so the boot run waits for it.
    await box!.shOk("mkdir -p /etc/systemd/system/vacfg-agent-boot.service.d && printf '[Unit]\\nAfter=vacfg-server.service\\nWants=vacfg-server.service\\n' > /etc/systemd/system/vacfg-agent-boot.service.d/server-here.conf");
    await box!.poweroff();
    const t = Date.now();
    box = await bootContainer(root!, NAME, bootLog);
    measured.push(`reboot to a running system: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    expect(await prop("vacfg-server", "ActiveState")).to.equal("active");
    expect(await prop("vacfg-agent-boot.service", "Result")).to.equal("success");
    expect(await prop("vacfg-agent-boot.service", "ActiveState"), "RemainAfterExit").to.equal("active");
    expect(await prop("vacfg-configured.target", "ActiveState")).to.equal("active");
    // The boot run finished before the target was reached.
    const bootDone = Number(await prop("vacfg-agent-boot.service", "ActiveEnterTimestampMonotonic"));
    const target = Number(await prop("vacfg-configured.target", "ActiveEnterTimestampMonotonic"));
    expect(bootDone).to.be.at.most(target);
    expect((await runs())!.lastRun!.id).to.be.greaterThan(before);
  });

  it("removing vacfg-agent removes its code cache", async function () {
    await box!.shOk("dpkg -r vacfg-agent", 120_000);
    expect(await box!.shOk(`test -e ${AGENT_CODE_CACHE_DIR} && echo left || echo gone`)).to.equal("gone\n");
  });
});
