// Every delivery path of `deploy`, booted for real: one small QEMU guest (TCG when KVM does not
// work) per delivery — image patch, kernel command line, DHCP (dnsmasq on the namespace bridge,
// the parameter file served by the configuration server) and a NoCloud seed drive — whose agent
// finds its parameters that way and contextualizes against a configuration server in the same
// namespace. Readiness comes from the agents' statistics in the store the server and the
// workspace share: pending with the last run's error, then ready at the first clean run.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { guestAgentConfig } from "../../../demo/agent-config.js";
import { POWER_BUTTON_WATCH } from "../../../demo/guest-script.js";
import { startServerInNetns, type NetnsServer } from "../../../demo/netns-server.js";
import { TORQUE_CONTEXT_TEMPLATE } from "../../../demo/torque-appliance.js";
import { BOOT_MARKER } from "../../../hypervisor/appliance/boot-protocol.js";
import { resolveCacheDir, stderrProgress } from "../../../hypervisor/appliance/cache.js";
import type { SiteFile } from "../../../hypervisor/ctx/site.js";
import { writeSiteCa } from "../../../hypervisor/ctx/site-ca.js";
import { QemuDriver } from "../../../hypervisor/qemu/qemu-driver.js";
import { createNetns, destroyNetns } from "../../../hypervisor/vm/netns.js";
import { waitForSerial } from "../../../hypervisor/vm/serial.js";
import { projectAgentAppliance } from "../../../harness/agent-appliance.js";
import { GUEST_AGENT_COMMAND } from "../../../hypervisor/appliance/agent-package.js";
import { WorkspaceService } from "../../../hypervisor/workspace/service.js";
import { KIND, type VmRecord } from "../../../hypervisor/workspace/types.js";
import { CTX_DELIVERY_KIND, DELIVERIES, type Delivery } from "../../../protocol/ctx-delivery.js";
import { isVacfgError } from "../../../protocol/errors.js";
import { CTX_SIGNING_KEY, ensureCtxSigningKey, publicKeyPathFor } from "../../../server/admin/ctx-signing-key.js";
import { createCa, issueCertificate } from "../../../server/admin/tls-material.js";
import { openStore } from "../../../server/store/open-store.js";
import type { Store } from "../../../server/store/store.js";
import { exampleRepo, projectRoot } from "../../support/paths.js";
import { vacfgCli } from "../../support/vacfg-cli.js";

/** A small appliance: no secret parameters, so every delivery (the kernel command line too) may carry it. */
const TINY_TEMPLATE = `<ContextTemplate appliance="tiny">
  <Param name="DNSServer" shape="list" binding="site" required="true"/>
  <Param name="domain" binding="site" required="true"/>
  <Param name="nodenames" shape="list" binding="instance" generator="nodenames"/>
  <Param name="address" shape="value" binding="instance" generator="address-pool" pool="cluster"/>
  <Param name="addresses" shape="list" binding="instance" generator="address-pool" pool="cluster"/>
</ContextTemplate>
`;
const DOMAIN = "delivery.test";
/** Not the bridge: a DNS server that can only come from the parameters. */
const DNS = ["10.0.0.1", "10.0.0.53"];
const MISSING = "/etc/vacfg-delivery-missing";


/** Runs the agent until a run is clean (the agent's timer would), then shows resolv.conf. */
const GUEST_SCRIPT = `#!/bin/sh
${POWER_BUTTON_WATCH}
run=0
while :; do
  run=$((run+1))
  ${GUEST_AGENT_COMMAND} -k -v --exit-dirty > /var/log/vacfg-agent.log 2>&1
  rc=$?
  echo "DLV-RUN $run exit $rc uptime $(cut -d' ' -f1 /proc/uptime)"
  [ $run = 1 ] && grep -m1 'contextualization parameters' /var/log/vacfg-agent.log | sed 's/^/DLV-SOURCE /'
  [ $rc = 0 ] && break
  [ $rc = 3 ] || tail -n 5 /var/log/vacfg-agent.log
  [ $run -ge 60 ] && break
  sleep 3
done
echo DLV-RESOLV-BEGIN; cat /etc/resolv.conf; echo DLV-RESOLV-END
while sleep 5; do :; done
`;


describe("workspace: every delivery path boots a guest that finds its parameters and contextualizes", function () {
  this.timeout(20 * 60_000);
  const netns = `vacfg-delivery-${process.pid}`;
  let work: string;
  let store: Store;
  let server: NetnsServer;
  let ws: WorkspaceService;
  let repo: string;
  let password: string;
  let serverCa: string;
  let driver: QemuDriver;
  /** workspace.json for the CLI: the same store, state and driver directory as `ws`. */
  let wsConfig: string;
  let cliDeploy: Promise<{ code: number; stdout: string; stderr: string }>;
  const started = new Map<Delivery, { vm: VmRecord; t0: number }>();

  before(async function () {
    if (process.getuid?.() !== 0) throw new Error("needs root: network namespaces, taps and dnsmasq");
    const cacheDir = await resolveCacheDir();
    const image = await projectAgentAppliance(projectRoot, cacheDir, stderrProgress);
    work = await mkdtemp(join(tmpdir(), "vdlv-"));
    const ns = await createNetns({ name: netns, cidr: "10.0.0.0/24", taps: DELIVERIES.length, bridge: "brdelivery", tapPrefix: "delivery" });
    const bridgeIp = ns.bridgeAddress.split("/")[0];

    // The configuration server in the namespace, on a small repository this appliance can satisfy
    // (its resolv.conf template is the example repository's), with one entry that cannot be built
    // for the patch node at first.
    const serverDir = join(work, "server");
    await mkdir(serverDir);
    repo = join(serverDir, "repo");
    writeRepo(repo, {
      "Metadata/groups.xml": '<Groups>\n  <Group name="tiny" profile="true" public="true" default="true">\n    <Bundle name="base"/>\n  </Group>\n</Groups>\n',
      "Metadata/clients.xml": "<Clients/>\n",
      "Bundler/base.xml": `<Bundle>\n  <Path name="/etc/resolv.conf"/>\n  <Client name="dpatch.${DOMAIN}"><Path name="${MISSING}"/></Client>\n</Bundle>\n`,
      "Cfg/etc/resolv.conf/resolv.conf.jinja2": readFileSync(join(exampleRepo, "Cfg/etc/resolv.conf/resolv.conf.jinja2"), "utf8"),
    });
    const siteDir = join(work, "site");
    await mkdir(siteDir);
    const signingKey = join(siteDir, CTX_SIGNING_KEY);
    ensureCtxSigningKey(signingKey);
    const ca = createCa("vacfg delivery test CA");
    const cert = issueCertificate(ca, { cn: bridgeIp, altNames: [bridgeIp], usage: "server" });
    password = randomBytes(12).toString("base64url");
    serverCa = ca.certPem;
    server = await startServerInNetns(netns, { repo, dataDir: serverDir, host: bridgeIp, password, tls: { cert: cert.certPem, key: cert.keyPem, ca: ca.certPem }, contextKeys: [await readFile(publicKeyPathFor(signingKey), "utf8")], logLevel: "info" });

    // The workspace shares the server's store: the server hands out DHCP-delivered parameter files
    // from it, and the agents' runs in it make the nodes ready.
    store = await openStore(`sqlite:${join(serverDir, "store.db")}`);
    const site: SiteFile = {
      signingKey,
      domain: DOMAIN,
      dnsServers: DNS,
      pools: { cluster: { cidr: "10.0.0.0/24", range: ["10.0.0.10", "10.0.0.99"], gateway: bridgeIp } },
      ca: writeSiteCa(join(siteDir, "ca")),
    };
    // the driver directory openWorkspace uses for this stateDir, so the CLI and `ws` see the same VMs
    driver = new QemuDriver({ stateDir: join(work, "vms", "drivers", "qemu"), netns, kvmProbe: { cacheFile: join(cacheDir, "kvm-verdict.json"), boot: { kernel: image.vmlinuz, initrd: image.initrd, marker: BOOT_MARKER } } });
    const appliance = { base: image.base, kernel: image.vmlinuz, initrd: image.initrd, command: "sh /etc/vacfg/boot.sh" };
    ws = new WorkspaceService({
      store,
      runs: store,
      driver,
      site,
      appliances: { tiny: { ...appliance, template: TINY_TEMPLATE }, torque: { ...appliance, template: TORQUE_CONTEXT_TEMPLATE } },
      stateDir: join(work, "vms"),
      network: { taps: ns.taps, bridge: ns.bridge, netns, dhcp: { paramsUrl: server.url } },
      resources: { memoryMiB: 288 },
    });
    writeFileSync(join(siteDir, "site.json"), JSON.stringify(site));
    writeFileSync(join(siteDir, "tiny.ctx.xml"), TINY_TEMPLATE);
    wsConfig = join(work, "workspace.json");
    writeFileSync(wsConfig, JSON.stringify({
      store: `sqlite:${join(serverDir, "store.db")}`,
      stateDir: join(work, "vms"),
      site: join(siteDir, "site.json"),
      appliances: { tiny: { ...appliance, template: join(siteDir, "tiny.ctx.xml") } },
      network: { netns, taps: ns.taps, bridge: ns.bridge, dhcp: { paramsUrl: server.url } },
      accel: await driver.accel(),
    }));
  });

  after(async () => {
    if (ws) for (const d of await ws.deployments()) await ws.destroy(d.name).catch(() => undefined);
    await store?.close();
    await server?.stop();
    await destroyNetns(netns);
    if (work) await rm(work, { recursive: true, force: true });
  });

  const request = (d: Delivery, extra: Record<string, unknown> = {}) => {
    const node = `d${d}`;
    return {
      name: `delivery-${d}`,
      appliance: "tiny",
      delivery: d,
      instance: { names: [node] },
      files: [
        { path: "/etc/vacfg/server-ca.pem", content: serverCa },
        { path: "/etc/vacfg/boot.sh", content: GUEST_SCRIPT, mode: 0o755 },
      ],
      nodeFiles: { [node]: [{ path: "/etc/vacfg.conf", content: guestAgentConfig(server.url, `${node}.${DOMAIN}`, password), mode: 0o600 }] },
      ...extra,
    };
  };

  it("refuses secret parameters on the kernel command line, naming them, and leaves nothing behind", async () => {
    try {
      await ws.deploy({ name: "delivery-secret", appliance: "torque", delivery: "cmdline", instance: { names: ["dsecret"], users: [{ name: "ann", value: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeliveryAnnKeyxxxxxxxxxxxxxxxxxxxxxxxxxxx ann@x" }] } });
      expect.fail("deployed secrets on a kernel command line");
    } catch (e) {
      expect(isVacfgError(e) ? e.code : String(e)).to.equal("CMDLINE_SECRET");
      expect((e as Error).message).to.match(/^parameter\(s\) .* are secret in template torque; deliver by image patch instead$/);
      for (const p of ["hostcert", "sshhostkey", "rootpw"]) expect((e as Error).message).to.contain(`"${p}"`);
    }
    await expectError(ws.deploy({ ...request("patch"), delivery: "carrier-pigeon" }), /^delivery: must be one of patch, cmdline, dhcp, nocloud/);
    for (const k of [...Object.values(KIND), CTX_DELIVERY_KIND]) expect(await store.list(k), k).to.deep.equal([]);
  });

  it("deploys one guest per delivery; none is ready before its agent has run", async () => {
    for (const d of DELIVERIES) {
      const t0 = Date.now();
      if (d === "nocloud") {
        // this one as an operator deploys: the CLI, --delivery and --wait (it returns once the node is ready)
        const { delivery: _d, ...req } = request(d);
        writeFileSync(join(work, "nocloud.json"), JSON.stringify(req));
        cliDeploy = vacfgCli(["deploy", join(work, "nocloud.json"), "-w", wsConfig, "--delivery", "nocloud", "--wait", "--timeout", "900"]);
        let rec: VmRecord | undefined;
        for (let i = 0; i < 600 && !(rec && (await driver.list()).some((v) => v.name === rec!.name)); i++) {
          rec = await store.get<VmRecord>(KIND.vm, "delivery-nocloud-dnocloud");
          await new Promise((r) => setTimeout(r, 500));
        }
        expect(rec?.delivery).to.equal("nocloud");
        started.set(d, { vm: rec!, t0 });
        continue;
      }
      const r = await ws.deploy(request(d));
      started.set(d, { vm: r.vms[0], t0 });
      expect(r.deployment.delivery).to.equal(d);
    }
    // the parameters are on the command line QEMU boots the cmdline guest with, and on no other's
    for (const d of DELIVERIES) {
      const pid = (await driver.list()).find((s) => s.name === `delivery-${d}-d${d}`)!.id!;
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("vacfg.ctx=1."), d).to.equal(d === "cmdline");
    }
    const w = await ws.waitReady("delivery-patch", { timeoutMs: 1 });
    expect(w.ready).to.equal(false);
    expect(w.vms[0].readiness).to.deep.include({ state: "pending" });
  });

  for (const d of ["cmdline", "dhcp", "nocloud"] as const) {
    it(`${d}: the agent finds its parameters there and the node becomes ready; resolv.conf comes from DNSServer`, async () => {
      const { vm, t0 } = started.get(d)!;
      const w = await ws.waitReady(`delivery-${d}`, { timeoutMs: 10 * 60_000, pollMs: 2000 });
      const log = await readFile(vm.serialLog, "utf8");
      expect(w.ready, `${vm.name} ${JSON.stringify(w.vms[0].readiness)}\n${log.slice(-3000)}`).to.equal(true);
      const r = w.vms[0].readiness!;
      console.log(`      ${d}: deploy → contextualized (first clean run) ${((r.contextualizedAt! - t0) / 1000).toFixed(1)} s`);
      const shown = await waitForSerial(vm.serialLog, /DLV-RESOLV-END/, { timeoutMs: 120_000, pollMs: 1000 });
      expect(shown).to.match(new RegExp(`DLV-SOURCE contextualization parameters from ${d} \\(`));
      const resolv = /DLV-RESOLV-BEGIN\r?\n([\s\S]*?)DLV-RESOLV-END/.exec(shown)![1];
      expect(resolv).to.contain(`search ${DOMAIN}`).and.contain("nameserver 10.0.0.53");
      if (d === "dhcp") expect(shown).to.contain(`vacfg-init: DHCP ${vm.address}/24 on eth0`);
      if (d === "nocloud") {
        const cli = await cliDeploy;
        expect(cli.code, cli.stderr).to.equal(0);
        expect(cli.stdout).to.contain("parameters by nocloud").and.match(/^delivery-nocloud-dnocloud\tready\tcontextualized \S+ \(\d+\.\d s\)$/m);
      }
    });
  }

  it("patch: pending while its runs are dirty, with the last error; ready once the repository is fixed", async () => {
    const { vm, t0 } = started.get("patch")!;
    // its agent has run (dirty): the failed entry is the reason it is not ready
    let rec: VmRecord | undefined;
    for (let i = 0; i < 300 && rec?.readiness?.lastRunState !== "dirty"; i++) {
      rec = (await ws.status("delivery-patch"))[0];
      if (rec.readiness?.lastRunState !== "dirty") await new Promise((r) => setTimeout(r, 2000));
    }
    expect(rec!.readiness, JSON.stringify(rec)).to.deep.include({ state: "pending", lastRunState: "dirty" });
    expect(rec!.readiness!.lastError).to.contain(`Path:${MISSING}`);
    const not = await ws.waitReady("delivery-patch", { timeoutMs: 1 });
    expect(not.ready).to.equal(false);
    // what an operator sees: vm wait gives up naming the node and its last error; vm list shows it pending
    const wait = await vacfgCli(["vm", "wait", "delivery-patch", "-w", wsConfig, "--timeout", "3"]);
    expect(wait.code).to.equal(1);
    expect(wait.stderr).to.match(new RegExp(`not contextualized after 3 s: delivery-patch-dpatch \\(running: 1 bad: Path:${MISSING}`));
    expect((await vacfgCli(["vm", "list", "-w", wsConfig])).stdout).to.match(new RegExp(`^delivery-patch-dpatch\\trunning\\t.*\\tpatch\\tpending \\(1 bad: Path:${MISSING}`, "m"));
    // the server reads the repository again on the next request; the agent's next run is clean
    const base = join(repo, "Bundler/base.xml");
    writeFileSync(base, readFileSync(base, "utf8").replace(/ *<Client name="dpatch[^\n]*\n/, ""));
    const w = await ws.waitReady("delivery-patch", { timeoutMs: 5 * 60_000, pollMs: 2000 });
    expect(w.ready, JSON.stringify(w.vms[0].readiness)).to.equal(true);
    const shown = await waitForSerial(vm.serialLog, /DLV-RESOLV-END/, { timeoutMs: 120_000, pollMs: 1000 });
    expect(shown).to.match(/DLV-SOURCE contextualization parameters from file \(/);
    expect(/DLV-RESOLV-BEGIN\r?\n([\s\S]*?)DLV-RESOLV-END/.exec(shown)![1]).to.contain("nameserver 10.0.0.53");
    console.log(`      patch: deploy → contextualized ${((w.vms[0].readiness!.contextualizedAt! - t0) / 1000).toFixed(1)} s (after the repository fix)`);
    const list = (await vacfgCli(["vm", "list", "-w", wsConfig])).stdout.trim().split("\n");
    expect(list, list.join("\n")).to.have.length(4);
    for (const line of list) expect(line).to.match(/\t(patch|cmdline|dhcp|nocloud)\tready \d{4}-\d\d-\d\dT/);
  });

  it("destroy gives everything back: dnsmasq stopped, served parameter files and seed volume gone", async () => {
    const dep = (await ws.deployments()).find((d) => d.name === "delivery-dhcp")!;
    const pid = Number(readFileSync(dep.dhcp!.pidFile, "utf8"));
    const seed = started.get("nocloud")!.vm.seed!;
    expect(readFileSync(seed).length).to.be.greaterThan(0);
    for (const d of DELIVERIES) await ws.destroy(`delivery-${d}`);
    expect(await store.list(CTX_DELIVERY_KIND)).to.deep.equal([]);
    expect(() => process.kill(pid, 0)).to.throw();
    expect(() => readFileSync(seed)).to.throw();
    for (const k of Object.values(KIND)) expect(await store.list(k), k).to.deep.equal([]);
  });
});

function writeRepo(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

async function expectError(p: Promise<unknown>, match: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect((e as Error).message).to.match(match);
    return;
  }
  expect.fail(`expected an error matching ${match}`);
}
