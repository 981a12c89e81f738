// The Workspace Service against real QEMU guests (TCG when KVM does not work) in a private
// network namespace, a real SQLite store and the real appliance image: deploy, leases, liveness,
// restart, TTL, destroy, and the JSON API mounted on the real HTTPS front.
import { expect } from "chai";
import { request } from "node:https";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { isVacfgError } from "../../../protocol/errors.js";
import { BOOT_MARKER } from "../../../hypervisor/appliance/boot-protocol.js";
import { resolveCacheDir, stderrProgress } from "../../../hypervisor/appliance/cache.js";
import { writeSiteCa } from "../../../hypervisor/ctx/site-ca.js";
import { existingCpuCgroup } from "../../../hypervisor/qemu/cpu-cgroup.js";
import { QemuDriver } from "../../../hypervisor/qemu/qemu-driver.js";
import { createNetns, destroyNetns } from "../../../hypervisor/vm/netns.js";
import { waitForSerial } from "../../../hypervisor/vm/serial.js";
import { projectAgentAppliance } from "../../../harness/agent-appliance.js";
import { workspaceRouter } from "../../../hypervisor/workspace/api.js";
import { POWER_BUTTON_WATCH } from "../../../demo/guest-script.js";
import { WorkspaceService, type WorkspaceOptions } from "../../../hypervisor/workspace/service.js";
import { FIGURE1_USERS, TORQUE_CONTEXT_TEMPLATE, figure1Site } from "../../../demo/torque-appliance.js";
import { KIND, type VmRecord } from "../../../hypervisor/workspace/types.js";
import { createCa, issueCertificate } from "../../../server/admin/tls-material.js";
import { serveApi, type RunningServer } from "../../../server/http/serve.js";
import { createAdminGate } from "../../../server/reporting/admin-gate.js";
import { ADMIN_API_SURFACE } from "../../../server/reporting/mount.js";
import { openStore } from "../../../server/store/open-store.js";
import { parseEd25519Key } from "../../../protocol/ed25519-key.js";
import { parametersRefusal } from "../../../protocol/params-signature.js";
import type { Store } from "../../../server/store/store.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/** What each test guest prints: its MAC and local addresses as the kernel sees them, then a heartbeat. */
const GUEST_COMMAND = `${POWER_BUTTON_WATCH}
echo "GUEST mac=$(cat /sys/class/net/eth0/address) ips=$(awk '/32 host LOCAL/{print p} {p=$2}' /proc/net/fib_trie | sort -u | tr '\\n' ,) signed=$(grep -o '<Parameters node="[^"]*"' /etc/vacfg/context.xml) ctx=$(grep -o 'name="address" value="[^"]*"' /etc/vacfg/context.xml)"
while sleep 1; do echo TICK; done`;

async function expectError(p: Promise<unknown>, code: string, match: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isVacfgError(e) ? e.code : String(e)).to.equal(code);
    expect((e as Error).message).to.match(match);
    return;
  }
  expect.fail(`expected ${code}`);
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function call(port: number, ca: string, method: string, path: string, auth?: string, body?: unknown): Promise<Reply> {
  return new Promise((resolveReply, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    const req = request(
      { host: "127.0.0.1", port, method, path, ca, servername: "localhost", headers: { ...(auth ? { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } : {}), ...(data ? { "content-length": data.length } : {}), ...(method === "POST" ? { "content-type": "application/json" } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { raw: text };
          }
          resolveReply({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

/** Alive and not a zombie (a killed daemonized QEMU may stay a zombie under a non-reaping init). */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

describe("workspace: the Workspace Service with real QEMU guests", function () {
  this.timeout(10 * 60_000);
  const netns = `vacfg-ws-${process.pid}`;
  let work: string;
  let store: Store;
  let opts: WorkspaceOptions;
  let ws: WorkspaceService;
  let skew = 0;
  let srv: RunningServer | undefined;
  let apiCa: string;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // network namespaces and taps need root
    const image = await projectAgentAppliance(projectRoot, await resolveCacheDir(), stderrProgress);
    work = await mkdtemp(join(tmpdir(), "vws-"));
    const ns = await createNetns({ name: netns, cidr: "10.0.0.0/24", taps: 3, tapPrefix: "wtap" });
    store = await openStore(`sqlite:${join(work, "ws.db")}`);
    const driver = new QemuDriver({ stateDir: join(work, "q"), netns, kvmProbe: { cacheFile: join(await resolveCacheDir(), "kvm-verdict.json"), boot: { kernel: image.vmlinuz, initrd: image.initrd, marker: BOOT_MARKER } } });
    opts = {
      store,
      driver,
      // the deploy path signs each node's parameter file with the site key (created here on first use)
      site: figure1Site(writeSiteCa(join(work, "ca")), join(work, "site", "ctx-signing.key")),
      appliances: { torque: { template: TORQUE_CONTEXT_TEMPLATE, base: image.base, kernel: image.vmlinuz, initrd: image.initrd, command: GUEST_COMMAND } },
      stateDir: join(work, "vms"),
      network: { taps: ns.taps },
      resources: { memoryMiB: 192 },
      now: () => Date.now() + skew,
    };
    ws = new WorkspaceService(opts);
  });

  after(async function () {
    await srv?.close();
    if (ws) await Promise.all((await ws.deployments()).map((d) => ws.destroy(d.name).catch(() => undefined)));
    await store?.close();
    await destroyNetns(netns);
    if (work) await rm(work, { recursive: true, force: true });
  });

  const vm = (name: string) => store.get<VmRecord>(KIND.vm, name);

  it("refuses bad requests, naming the field, before leasing anything", async () => {
    await expectError(ws.deploy({ name: "Bad Name!", appliance: "torque", instance: { count: 1 } }), "WORKSPACE_REQUEST", /^name:/);
    await expectError(ws.deploy({ name: "x", appliance: "nope", instance: { count: 1 } }), "WORKSPACE_REQUEST", /^appliance: must be one of torque/);
    await expectError(ws.deploy({ name: "x", appliance: "torque", instance: { count: 1, users: FIGURE1_USERS }, resources: { vcpus: 0 } }), "WORKSPACE_REQUEST", /resources\.vcpus/);
    // binding errors from assembly (users is required by the template) undo everything
    await expectError(ws.deploy({ name: "x", appliance: "torque", instance: { count: 1 } }), "CTX_BINDING", /Param "users"/);
    for (const k of Object.values(KIND)) expect(await store.list(k), k).to.deep.equal([]);
  });

  it("deploys a group: each VM boots its own overlay with its own parameter file, MAC and address", async () => {
    const r = await ws.deploy({ name: "alpha", appliance: "torque", instance: { count: 2, users: FIGURE1_USERS }, resources: { cpuWeight: 512, cpuCap: 50 }, nodeResources: { node2: { memoryMiB: 224 } }, ttlSeconds: 3600 });
    expect(r.vms.map((v) => v.name)).to.deep.equal(["alpha-node1", "alpha-node2"]);
    expect(r.vms.map((v) => v.resources)).to.deep.equal([
      { memoryMiB: 192, vcpus: 1, cpuWeight: 512, cpuCap: 50 },
      { memoryMiB: 224, vcpus: 1, cpuWeight: 512, cpuCap: 50 },
    ]);
    for (const v of r.vms) {
      const log = await waitForSerial(v.serialLog, /GUEST mac=[^\n]*\n/, { timeoutMs: 180_000, pollMs: 500 });
      const line = /GUEST mac=(\S+) ips=(\S*) signed=(.*) ctx=(.*)/.exec(log)!;
      expect(line[1], v.name).to.equal(v.mac);
      expect(line[3], v.name).to.equal(`<Parameters node="${v.fqdn}"`);
      expect(line[2].split(","), v.name).to.include(v.address);
      expect(line[4], v.name).to.equal(`name="address" value="${v.address}"`);
      expect(parseInt(v.mac.slice(0, 2), 16) & 3).to.equal(2);
      // the QEMU process got the resources asked for
      const pid = (await opts.driver.list()).find((s) => s.name === v.name)!.id!;
      const qemuCmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      expect(qemuCmd[qemuCmd.indexOf("-m") + 1]).to.equal(String(v.resources.memoryMiB));
      // ...and runs in its own cpu cgroup with the weight and cap applied (Xen 512 → 2048 shares, 50% → 50 ms per 100 ms)
      const cg = existingCpuCgroup(v.name);
      expect(cg, `${v.name} has no cpu cgroup`).to.not.equal(undefined);
      expect(readFileSync(cg!.procsFile, "utf8").split("\n")).to.include(String(pid));
      const limits = cg!.version === 1 ? ["cpu.shares", "cpu.cfs_quota_us"] : ["cpu.weight", "cpu.max"];
      expect(limits.map((f) => readFileSync(join(cg!.path, f), "utf8").trim())).to.deep.equal(cg!.version === 1 ? ["2048", "50000"] : ["200", "50000 100000"]);
      expect(await store.get(KIND.address, `cluster/${v.address}`)).to.include({ vm: v.name });
      expect(await store.get(KIND.mac, v.mac)).to.include({ vm: v.name });
    }
    // ...and what was patched in is the site's signature for that very node
    const pub = parseEd25519Key(readFileSync(join(work, "site", "ctx-signing.pub"), "utf8"), "public", "ctx-signing.pub");
    for (const n of r.nodes) expect(parametersRefusal(n, [n.fqdn], [pub]), n.fqdn).to.equal(undefined);
    expect(r.vms[0].address).to.not.equal(r.vms[1].address);
    expect(r.vms[0].tap).to.not.equal(r.vms[1].tap);
  });

  it("never hands out a leased address, MAC or tap again, and refuses a second deployment of the same name", async () => {
    await expectError(ws.deploy({ name: "alpha", appliance: "torque", instance: { count: 1, users: FIGURE1_USERS } }), "WORKSPACE_CONFLICT", /already exists/);
    const r = await ws.deploy({ name: "beta", appliance: "torque", instance: { count: 1, users: FIGURE1_USERS } });
    const alpha = [(await vm("alpha-node1"))!, (await vm("alpha-node2"))!];
    expect(alpha.map((a) => a.address)).to.not.include(r.vms[0].address);
    expect(alpha.map((a) => a.mac)).to.not.include(r.vms[0].mac);
    expect(alpha.map((a) => a.tap)).to.not.include(r.vms[0].tap);
    // all three taps are leased now: a fourth VM is refused and leaves nothing behind
    await expectError(ws.deploy({ name: "gamma", appliance: "torque", instance: { count: 1, users: FIGURE1_USERS } }), "WORKSPACE_CONFLICT", /no free tap/);
    expect(await store.get(KIND.deployment, "gamma")).to.equal(undefined);
    expect((await store.list(KIND.address)).length).to.equal(3);
    await waitForSerial(r.vms[0].serialLog, "GUEST mac=", { timeoutMs: 180_000, pollMs: 500 });
  });

  it("reports a VM that died behind its back, and keeps its state across a restart of the service", async () => {
    try {
      const pid = (await opts.driver.list()).find((s) => s.name === "beta-node1")!.id!;
      process.kill(pid, "SIGKILL");
      // SIGKILL is asynchronous: on a loaded host the process can take a while to end.
      for (let i = 0; i < 600 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(processAlive(pid), "QEMU still alive after SIGKILL").to.equal(false);
      // a fresh service (and driver) over the same store and state: what a restarted daemon sees
      const restarted = new WorkspaceService({ ...opts, driver: new QemuDriver({ stateDir: join(work, "q"), netns, accel: "tcg" }) });
      const list = await restarted.list();
      // killed, not powered off: QEMU left its pid file behind, so the driver says crashed
      expect(list.map((v) => [v.name, v.phase, v.observed])).to.deep.equal([
        ["alpha-node1", "running", "running"],
        ["alpha-node2", "running", "running"],
        ["beta-node1", "died", "crashed"],
      ]);
      // marked once: asking again leaves the died record as it is
      expect((await restarted.list()).find((v) => v.name === "beta-node1")).to.deep.equal(list[2]);
      expect((await restarted.deployments()).map((d) => d.name)).to.deep.equal(["alpha", "beta"]);
      // destroying the dead VM gives its address back; the deployment goes with its last VM
      expect(await restarted.destroy("beta")).to.deep.equal(["beta-node1"]);
      expect((await store.list(KIND.address)).length).to.equal(2);
      expect(await store.get(KIND.deployment, "beta")).to.equal(undefined);
    } finally {
      // whatever failed above, the tests after this one start from alpha alone
      if (await store.get(KIND.deployment, "beta")) await ws.destroy("beta").catch(() => undefined);
    }
  });

  it("serves the JSON API on the HTTPS front: admin auth, list, pause/unpause, errors with catalogue codes", async () => {
    const ca = createCa("api test CA");
    const cert = issueCertificate(ca, { cn: "localhost", altNames: ["localhost", "127.0.0.1"], usage: "server" });
    apiCa = ca.certPem;
    srv = await serveApi({
      api: { authenticate: async () => undefined, close: async () => undefined } as never,
      listen: { host: "127.0.0.1", port: 0 },
      tls: { cert: cert.certPem, key: cert.keyPem, ca: ca.certPem },
      logger: pino({ level: "silent" }),
      routes: (app) => app.use("/api/v1", createAdminGate({ store, adminPassword: "adminpw-1" }).protect(ADMIN_API_SURFACE), workspaceRouter(ws)),
    });
    const admin = "admin:adminpw-1";
    expect((await call(srv.port, apiCa, "GET", "/api/v1/vms")).status).to.equal(401);
    expect((await call(srv.port, apiCa, "GET", "/api/v1/vms", "admin:wrong")).status).to.equal(401);
    const vms = await call(srv.port, apiCa, "GET", "/api/v1/vms", admin);
    expect(vms.status).to.equal(200);
    expect((vms.body.vms as VmRecord[]).map((v) => v.name)).to.deep.equal(["alpha-node1", "alpha-node2"]);
    const paused = await call(srv.port, apiCa, "POST", "/api/v1/vms/alpha/pause", admin);
    expect(paused.status).to.equal(200);
    expect((paused.body.vms as VmRecord[]).map((v) => v.phase)).to.deep.equal(["paused", "paused"]);
    const seen = await call(srv.port, apiCa, "GET", "/api/v1/vms", admin);
    expect((seen.body.vms as VmRecord[]).map((v) => v.observed)).to.deep.equal(["paused", "paused"]);
    expect((await call(srv.port, apiCa, "POST", "/api/v1/vms/alpha-node1/unpause", admin)).status).to.equal(200);
    expect((await call(srv.port, apiCa, "POST", "/api/v1/vms/alpha-node2/unpause", admin)).status).to.equal(200);
    const missing = await call(srv.port, apiCa, "POST", "/api/v1/vms/nosuch/shutdown", admin);
    expect(missing.status).to.equal(404);
    expect(missing.body.error).to.include({ code: "WORKSPACE_NOT_FOUND" });
    const bad = await call(srv.port, apiCa, "POST", "/api/v1/deployments", admin, { name: "delta", appliance: "torque", instance: { count: 1, users: FIGURE1_USERS }, bogus: 1 });
    expect(bad.status).to.equal(400);
    expect(bad.body.error).to.include({ code: "WORKSPACE_REQUEST" });
    const broken = await call(srv.port, apiCa, "POST", "/api/v1/deployments", admin, "{not json");
    expect(broken.status).to.equal(400);
    // an update: of a deployment that exists, under the URL's name, with the same nodes; refused before any VM stops
    const alphaReq = { appliance: "torque", instance: { count: 2, users: FIGURE1_USERS } };
    const none = await call(srv.port, apiCa, "POST", "/api/v1/deployments/nosuch/update", admin, alphaReq);
    expect(none.status).to.equal(404);
    expect(none.body.error).to.include({ code: "WORKSPACE_NOT_FOUND" });
    const renamed = await call(srv.port, apiCa, "POST", "/api/v1/deployments/alpha/update", admin, { ...alphaReq, name: "gamma" });
    expect(renamed.status).to.equal(400);
    expect((renamed.body.error as { message: string }).message).to.match(/^name: the request names "gamma", the URL "alpha"/);
    const grown = await call(srv.port, apiCa, "POST", "/api/v1/deployments/alpha/update", admin, { ...alphaReq, instance: { count: 3, users: FIGURE1_USERS } });
    expect(grown.status).to.equal(400);
    expect((grown.body.error as { message: string }).message).to.match(/^instance: an update keeps the nodes \(alpha-node1, alpha-node2\)/);
    expect(((await call(srv.port, apiCa, "GET", "/api/v1/vms", admin)).body.vms as VmRecord[]).map((v) => v.observed)).to.deep.equal(["running", "running"]);
    const deps = await call(srv.port, apiCa, "GET", "/api/v1/deployments", admin);
    expect((deps.body.deployments as { name: string }[]).map((d) => d.name)).to.deep.equal(["alpha"]);
  });

  it("expires a VM when its time to live has passed: graceful power-off, address and overlay released", async () => {
    const node2 = (await vm("alpha-node2"))!;
    await ws.setTtl("alpha-node2", 60);
    expect(await ws.reap()).to.deep.equal([]);
    skew = 61_000; // a minute later, by the service's clock
    expect(await ws.reap()).to.deep.equal(["alpha-node2"]);
    const after = (await vm("alpha-node2"))!;
    expect(after).to.include({ phase: "expired", released: true });
    expect(await store.get(KIND.address, `cluster/${node2.address}`)).to.equal(undefined);
    expect(await store.get(KIND.mac, node2.mac)).to.equal(undefined);
    expect(existsSync(node2.overlay)).to.equal(false);
    expect(readFileSync(node2.serialLog, "utf8")).to.contain("VACFG-POWERDOWN");
    expect((await opts.driver.list()).map((s) => s.name)).to.deep.equal(["alpha-node1"]);
    await expectError(ws.pause("alpha-node2"), "WORKSPACE_CONFLICT", /it is expired/);
  });

  it("shuts down and destroys the group, leaving no lease, record or overlay", async () => {
    const node1 = (await vm("alpha-node1"))!;
    const down = await ws.shutdown("alpha");
    expect(down.map((v) => v.phase)).to.deep.equal(["shutdown", "expired"]);
    expect(readFileSync(node1.serialLog, "utf8")).to.contain("VACFG-POWERDOWN");
    expect(await ws.destroy("alpha")).to.deep.equal(["alpha-node1", "alpha-node2"]);
    for (const k of Object.values(KIND)) expect(await store.list(k), k).to.deep.equal([]);
    expect(await opts.driver.list()).to.deep.equal([]);
    expect(["alpha-node1", "alpha-node2"].map((n) => existingCpuCgroup(n)), "cpu cgroups left behind").to.deep.equal([undefined, undefined]);
  });
});
