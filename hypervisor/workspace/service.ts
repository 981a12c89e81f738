// The Workspace Service: deploys appliances (one VM or a named group) and manages them —
// shutdown, pause, reactivate, destroy, list with liveness, and a time to live enforced by a
// reaper. Every VM, deployment and lease lives in the store, so a restarted service picks up
// where the last one stopped; the hypervisor is asked what really runs, and a VM that vanished
// without being stopped is reported as died.
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { encodeCtxArg } from "../../protocol/ctx-cmdline.js";
import { CTX_DELIVERY_KIND, CTX_DELIVERY_PATH, type CtxDeliveryRecord } from "../../protocol/ctx-delivery.js";
import { parseContextTemplate, type ContextTemplate } from "../../protocol/ctx-template.js";
import { VacfgError } from "../../protocol/errors.js";
import { CONTEXT_FILE_PATH, parameterFileFromJson, parameterFileToJson, serializeParameterFile } from "../../protocol/params.js";
import type { RecordTable } from "../../server/store/store.js";
import { bootCmdline } from "../appliance/boot-protocol.js";
import { createOverlay } from "../appliance/image.js";
import { assemble, type AssembledNode, type KeptNode } from "../ctx/assemble.js";
import { parseCidr } from "../ctx/address-pool.js";
import { buildKernelCmdline } from "../ctx/cmdline.js";
import { dhcpNodesFrom } from "../ctx/dhcp.js";
import { buildNoCloudVolume, noCloudSeed } from "../ctx/nocloud.js";
import type { SiteFile } from "../ctx/site.js";
import type { GuestFile } from "../image/debugfs.js";
import { patchImage } from "../image/patch-image.js";
import type { VmDriver, VmSpec } from "../vm/driver.js";
import { admitAppliance, loadAdmission, type WorkspaceAdmission } from "./admission.js";
import { startDnsmasq, stopDnsmasq } from "./dnsmasq.js";
import { Leases, workspaceMac } from "./leases.js";
import { readinessOf, type RunSource } from "./readiness.js";
import { KIND, type ApplianceSpec, type DeployRequest, type DeploymentRecord, type Resources, type VmParamsRecord, type VmPhase, type VmRecord } from "./types.js";
import { validateDeployRequest } from "./validate.js";


/** What a deployment has taken so far, so that a failure gives it all back. */
interface DeployUndo {
  leases: Array<[(typeof KIND)["address" | "mac" | "tap"], string, string]>;
  records: VmRecord[];
  started: VmRecord[];
  /** dhcp: the dnsmasq started for the deployment. */
  dhcp?: { pidFile: string; config: string };
}

export interface WorkspaceNetwork {
  /** Tap devices VMs may use (QEMU); each is leased to one VM at a time. */
  taps?: string[];
  /** Bridge the VMs' NICs join (Xen vif bridge=; the DHCP delivery's dnsmasq listens on it). */
  bridge?: string;
  /** Network namespace holding the bridge and taps (the DHCP delivery runs dnsmasq inside it). */
  netns?: string;
  /**
   * The DHCP delivery: `paramsUrl` is the configuration server's https URL as the guests reach it
   * (it serves /ctx/TOKEN from the store this workspace writes, so they must share a store).
   */
  dhcp?: { paramsUrl: string };
}

export interface WorkspaceOptions {
  store: RecordTable;
  /** The driver new VMs get (see pickDriver); records name their driver, looked up in `drivers`. */
  driver: VmDriver;
  /** Further drivers that may own VMs from earlier runs (by name). */
  drivers?: VmDriver[];
  site: SiteFile;
  appliances: Record<string, ApplianceSpec>;
  /** Overlays and serial logs: <stateDir>/<vm>.qcow2, <vm>.serial.log */
  stateDir: string;
  network?: WorkspaceNetwork;
  /** Defaults when neither request nor appliance says (256 MiB, 1 vCPU). */
  resources?: Partial<Resources>;
  /** Clock for TTLs (ms); tests and the reaper use the real one by default. */
  now?: () => number;
  /**
   * When set, deploy() admits the appliance's base image against this policy before it leases,
   * patches or boots anything; a refusal is VacfgError("ADMISSION") and leaves nothing behind.
   */
  admission?: WorkspaceAdmission;
  /**
   * The configuration server's stored runs (its store; the workspace's own when they share one):
   * a node is ready at its first clean run. Without it readiness stays unknown.
   */
  runs?: RunSource;
}

export interface DeployResult {
  deployment: DeploymentRecord;
  vms: VmRecord[];
  /** The assembled nodes, parameter files included (for callers that also serve them). */
  nodes: AssembledNode[];
}

const ACTIVE: VmPhase[] = ["running", "paused"];
const DEFAULTS: Resources = { memoryMiB: 256, vcpus: 1 };

export class WorkspaceService {
  private readonly leases: Leases;
  private readonly drivers = new Map<string, VmDriver>();
  private readonly templates = new Map<string, ContextTemplate>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly o: WorkspaceOptions) {
    this.leases = new Leases(o.store);
    for (const d of [o.driver, ...(o.drivers ?? [])]) if (!this.drivers.has(d.name)) this.drivers.set(d.name, d);
    for (const [name, a] of Object.entries(o.appliances)) this.templates.set(name, parseContextTemplate(a.template, `appliance ${name} template`));
    this.now = o.now ?? Date.now;
    // A broken policy or trust directory is a configuration error: fail at start, not at deploy.
    if (o.admission) loadAdmission(o.admission);
  }

  /** One mutation at a time: leases and records change together, the reaper never races a request. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.chain.then(f, f);
    this.chain = run.catch(() => undefined);
    return run;
  }

  deploy(raw: unknown): Promise<DeployResult> {
    return this.serial(() => this.deployNow(validateDeployRequest(raw, Object.keys(this.o.appliances))));
  }

  /**
   * One deployment in named steps: admit → reserve the name → lease MACs → assemble (leasing
   * addresses) → disks → boot. Everything a step takes is noted in `undo`, so a failure at any
   * step gives all of it back.
   */
  private async deployNow(req: DeployRequest): Promise<DeployResult> {
    const appliance = this.o.appliances[req.appliance];
    // Admission first: a refused image must not cost a lease, an overlay or a record.
    const admission = this.o.admission ? await admitAppliance(req.appliance, appliance, this.o.admission, this.o.store) : undefined;
    const created = this.now();
    const deployment = await this.reserveDeployment(req, created, admission);
    const undo: DeployUndo = { leases: [], records: [], started: [] };
    try {
      const vmName = (n: string) => `${req.name}-${n.split(".")[0]}`;
      const names = nodeNames(req);
      for (const n of names) {
        if (await this.o.store.get(KIND.vm, vmName(n))) throw new VacfgError("WORKSPACE_CONFLICT", `VM "${vmName(n)}" already exists`);
      }
      const macs = await this.leaseMacs(req, names, vmName, undo);
      const nodes = await this.assembleWithAddresses(req, macs, vmName, undo);
      await this.prepareVms(req, appliance, nodes, vmName, created, undo);
      if (req.delivery === "dhcp") deployment.dhcp = this.startDhcp(req, undo);
      // Records first, then boot: a service that dies mid-deploy leaves records that list() can
      // reconcile (a VM that never started shows as died), never a VM nobody knows of.
      deployment.vms = undo.records.map((r) => r.name);
      await this.o.store.put(KIND.deployment, req.name, deployment);
      for (const rec of undo.records) await this.o.store.put(KIND.vm, rec.name, rec);
      await this.keepParams(undo.records, nodes);
      await this.boot(req, appliance, undo);
      return { deployment, vms: undo.records, nodes };
    } catch (e) {
      await this.rollback(req.name, undo);
      throw e;
    }
  }

  /** Each VM's assembled parameters, for a later update to keep its address and generated values. */
  private async keepParams(recs: VmRecord[], nodes: AssembledNode[]): Promise<void> {
    for (const rec of recs) {
      const n = nodes.find((x) => x.fqdn === rec.fqdn)!;
      const doc: VmParamsRecord = { fqdn: n.fqdn, params: parameterFileToJson(n.params) };
      await this.o.store.put(KIND.params, rec.name, doc);
    }
  }

  /**
   * Redeploys a running deployment with a changed request (users, keys, parameters, files,
   * resources, delivery): the same nodes keep their names, MACs, addresses, taps and generated
   * values (ssh host keys, host certificates, secrets), and each VM is replaced by a fresh one
   * booted from the appliance base with the new parameters, so what the new request dropped (a
   * user removed) is gone too. Everything is assembled and every new disk prepared before any old
   * VM stops: a refused request leaves the deployment as it was. Nodes are pending again until
   * their first clean run after the update.
   */
  update(raw: unknown): Promise<DeployResult> {
    return this.serial(() => this.updateNow(validateDeployRequest(raw, Object.keys(this.o.appliances))));
  }

  private async updateNow(req: DeployRequest): Promise<DeployResult> {
    const dep = await this.o.store.get<DeploymentRecord>(KIND.deployment, req.name);
    if (!dep) throw new VacfgError("WORKSPACE_NOT_FOUND", `no deployment named "${req.name}" to update`);
    if (dep.appliance !== req.appliance) throw new VacfgError("WORKSPACE_REQUEST", `appliance: deployment "${req.name}" runs "${dep.appliance}"; an update keeps the appliance`);
    const appliance = this.o.appliances[req.appliance];
    const vmName = (n: string) => `${req.name}-${n.split(".")[0]}`;
    const names = nodeNames(req);
    const wanted = names.map(vmName).sort();
    if (JSON.stringify(wanted) !== JSON.stringify([...dep.vms].sort())) {
      throw new VacfgError("WORKSPACE_REQUEST", `instance: an update keeps the nodes (${dep.vms.join(", ")}), the request names ${wanted.join(", ")}; deploy a new deployment to add or remove nodes`);
    }
    const old = new Map<string, VmRecord>();
    const kept = new Map<string, KeptNode>();
    for (const name of dep.vms) {
      const rec = await this.o.store.get<VmRecord>(KIND.vm, name);
      if (!rec) throw new VacfgError("WORKSPACE_CONFLICT", `deployment "${req.name}": VM ${name} has no record`);
      this.requireActive(rec, "update");
      const p = await this.o.store.get<VmParamsRecord>(KIND.params, name);
      if (!p) throw new VacfgError("WORKSPACE_CONFLICT", `${name} has no recorded parameters (deployed by an older vacfg); destroy the deployment and deploy it again`);
      old.set(name, rec);
      kept.set(p.fqdn, { ...(rec.address ? { address: rec.address } : {}), params: parameterFileFromJson(p.params, `${name}'s recorded parameters`) });
    }
    // Admission again: the base may have been replaced (image update) since the deployment.
    const admission = this.o.admission ? await admitAppliance(req.appliance, appliance, this.o.admission, this.o.store) : dep.admission;
    const macs = Object.fromEntries(names.map((n) => [n, old.get(vmName(n))!.mac]));
    const nodes = assemble(this.templates.get(req.appliance)!, this.o.site, { ...req.instance, macs }, kept);
    const now = this.now();
    const delivery = req.delivery ?? "patch";
    // The new disks, staged beside the running ones.
    const staged: VmRecord[] = [];
    const stage = ".update";
    try {
      for (const n of nodes) {
        const prev = old.get(vmName(n.name))!;
        const { kernelArgs: _k, seed: _s, ctxToken: _t, observed: _o, readiness: _r, ...base } = prev;
        const rec: VmRecord = {
          ...base,
          driver: this.o.driver.name,
          phase: "running",
          overlay: join(this.o.stateDir, `${prev.name}${stage}.qcow2`),
          resources: { ...DEFAULTS, ...this.o.resources, ...appliance.resources, ...req.resources, ...req.nodeResources?.[n.name] },
          bootedAt: now,
          updatedAt: now,
          ...(req.ttlSeconds ? { expiresAt: now + req.ttlSeconds * 1000 } : {}),
          delivery,
          ...(this.o.runs ? { readiness: { state: "pending" as const, lastError: "no run reported yet" } } : {}),
        };
        staged.push(rec);
        await this.prepareDisk(rec, n, appliance, req, stage);
      }
    } catch (e) {
      for (const rec of staged) {
        await rm(rec.overlay, { force: true });
        await this.dropDelivery(rec);
      }
      throw e;
    }
    // The switch: old VMs stop (their disks are replaced, so there is nothing to shut down
    // gracefully for), the staged disks take their place, the new VMs boot.
    if (dep.dhcp) await stopDnsmasq(dep.dhcp);
    const undo: DeployUndo = { leases: [], records: [], started: [] };
    for (const rec of staged) {
      const prev = old.get(rec.name)!;
      await this.driverOf(prev).destroy(prev.name).catch(() => undefined);
      await this.dropDelivery(prev);
      await rename(rec.overlay, prev.overlay);
      rec.overlay = prev.overlay;
      if (rec.seed) {
        const seed = join(this.o.stateDir, `${rec.name}.cidata.img`);
        await rename(rec.seed, seed);
        rec.seed = seed;
      }
      undo.records.push(rec);
    }
    const { dhcp: _stopped, ...rest } = dep;
    const updated: DeploymentRecord = { ...rest, delivery, updatedAt: now, ...(req.ttlSeconds ? { ttlSeconds: req.ttlSeconds } : {}), ...(admission ? { admission } : {}) };
    if (delivery === "dhcp") updated.dhcp = this.startDhcp(req, undo);
    await this.o.store.put(KIND.deployment, req.name, updated);
    for (const rec of undo.records) await this.o.store.put(KIND.vm, rec.name, rec);
    await this.keepParams(undo.records, nodes);
    await this.boot(req, appliance, undo);
    return { deployment: updated, vms: undo.records, nodes };
  }

  /** The deployment record, inserted only if the name is free (the name is the lock). */
  private async reserveDeployment(req: DeployRequest, created: number, admission: DeploymentRecord["admission"]): Promise<DeploymentRecord> {
    const deployment: DeploymentRecord = { name: req.name, appliance: req.appliance, vms: [], createdAt: created, ttlSeconds: req.ttlSeconds, delivery: req.delivery ?? "patch", ...(admission ? { admission } : {}) };
    if (!(await this.o.store.insertIfAbsent(KIND.deployment, req.name, deployment))) {
      throw new VacfgError("WORKSPACE_CONFLICT", `deployment "${req.name}" already exists`);
    }
    return deployment;
  }

  /** The request's MACs, or a stable locally administered one per node; each leased once. */
  private async leaseMacs(req: DeployRequest, names: string[], vmName: (n: string) => string, undo: DeployUndo): Promise<Record<string, string>> {
    const macs: Record<string, string> = {};
    for (const n of names) {
      const fqdn = n.includes(".") ? n : `${n}.${this.o.site.domain}`;
      const wanted = req.instance.macs?.[n];
      let mac: string | undefined;
      for (let attempt = 0; attempt < 16 && !mac; attempt++) {
        const candidate = (wanted ?? workspaceMac(req.name, fqdn, attempt)).toLowerCase();
        if (await this.leases.take(KIND.mac, candidate, vmName(n))) mac = candidate;
        else if (wanted) throw new VacfgError("WORKSPACE_CONFLICT", `MAC ${candidate} (macs.${n}) is leased to another VM`);
      }
      if (!mac) throw new VacfgError("WORKSPACE_CONFLICT", `no free MAC for ${fqdn}`);
      undo.leases.push([KIND.mac, mac, vmName(n)]);
      macs[n] = mac;
    }
    return macs;
  }

  /**
   * Assembles the parameters with every leased address reserved, then leases what it chose. A
   * concurrent service may have leased one in between: give back and assemble again.
   */
  private async assembleWithAddresses(req: DeployRequest, macs: Record<string, string>, vmName: (n: string) => string, undo: DeployUndo): Promise<AssembledNode[]> {
    const template = this.templates.get(req.appliance)!;
    const pool = addressPool(template);
    for (let round = 0; ; round++) {
      const held = [...(await this.leases.held(KIND.address)).keys()].map((k) => k.slice(k.indexOf("/") + 1));
      const reserved = [...new Set([...(req.instance.reservedAddresses ?? []), ...held])];
      const nodes = assemble(template, this.o.site, { ...req.instance, macs, reservedAddresses: reserved });
      const mine: Array<[string, string]> = [];
      let lost = false;
      for (const n of nodes) {
        if (!n.address || !pool) continue;
        const key = `${pool}/${n.address}`;
        if (await this.leases.take(KIND.address, key, vmName(n.name))) mine.push([key, vmName(n.name)]);
        else lost = true;
      }
      if (!lost) {
        for (const [k, vm] of mine) undo.leases.push([KIND.address, k, vm]);
        return nodes;
      }
      for (const [k] of mine) await this.o.store.delete(KIND.address, k);
      if (round >= 5) throw new VacfgError("WORKSPACE_CONFLICT", "addresses kept being leased by a concurrent deployment; try again");
    }
  }

  /** Per node: a tap lease, the VM record and its disk (overlay with parameters and files). */
  private async prepareVms(req: DeployRequest, appliance: ApplianceSpec, nodes: AssembledNode[], vmName: (n: string) => string, created: number, undo: DeployUndo): Promise<void> {
    const pool = addressPool(this.templates.get(req.appliance)!);
    const prefix = pool ? parseCidr(this.o.site.pools[pool].cidr).prefix : undefined;
    await mkdir(this.o.stateDir, { recursive: true });
    for (const n of nodes) {
      const name = vmName(n.name);
      let tap: string | undefined;
      if (this.o.network?.taps) {
        tap = await this.leases.takeFirst(KIND.tap, this.o.network.taps, name);
        if (!tap) throw new VacfgError("WORKSPACE_CONFLICT", `no free tap device for ${name} (all of ${this.o.network.taps.join(", ")} are leased)`);
        undo.leases.push([KIND.tap, tap, name]);
      }
      const resources = { ...DEFAULTS, ...this.o.resources, ...appliance.resources, ...req.resources, ...req.nodeResources?.[n.name] };
      const rec: VmRecord = {
        name,
        deployment: req.name,
        node: n.name,
        fqdn: n.fqdn,
        driver: this.o.driver.name,
        phase: "running",
        mac: n.mac,
        ...(n.address ? { address: n.address, pool, prefix } : {}),
        ...(tap ? { tap } : {}),
        overlay: join(this.o.stateDir, `${name}.qcow2`),
        serialLog: join(this.o.stateDir, `${name}.serial.log`),
        resources,
        createdAt: created,
        ...(req.ttlSeconds ? { expiresAt: created + req.ttlSeconds * 1000 } : {}),
        updatedAt: created,
        released: false,
        delivery: req.delivery ?? "patch",
        // without the server's runs readiness is unknown, and the record says nothing
        ...(this.o.runs ? { readiness: { state: "pending" as const, lastError: "no run reported yet" } } : {}),
      };
      undo.records.push(rec);
      await this.prepareDisk(rec, n, appliance, req);
    }
  }

  private async boot(req: DeployRequest, appliance: ApplianceSpec, undo: DeployUndo): Promise<void> {
    for (const rec of undo.records) {
      await rm(rec.serialLog, { force: true });
      await this.o.driver.create(this.vmSpec(rec, appliance, req));
      undo.started.push(rec);
    }
  }

  /** Gives back everything a failed deployment took, newest first. */
  private async rollback(deploymentName: string, undo: DeployUndo): Promise<void> {
    for (const rec of undo.started) await this.o.driver.destroy(rec.name).catch(() => undefined);
    if (undo.dhcp) await stopDnsmasq(undo.dhcp);
    for (const rec of undo.records) {
      await this.dropDelivery(rec);
      await rm(rec.overlay, { force: true });
      await this.o.store.delete(KIND.vm, rec.name);
      await this.o.store.delete(KIND.params, rec.name);
    }
    for (const [kind, value, vm] of undo.leases) await this.leases.release(kind, value, vm);
    await this.o.store.delete(KIND.deployment, deploymentName);
  }

  /**
   * The VM's own overlay of the appliance base with the request's files patched in, and its
   * parameters on the way the request chose: patched in with them (patch), a kernel argument
   * (cmdline: refused for secrets, CMDLINE_SECRET, and beyond the boot target's length), a seed
   * volume (nocloud), or a file the configuration server hands out by token (dhcp).
   */
  private async prepareDisk(rec: VmRecord, node: AssembledNode, appliance: ApplianceSpec, req: DeployRequest, staging = ""): Promise<void> {
    const delivery = req.delivery ?? "patch";
    const paramFile = serializeParameterFile(node.params, node.signature);
    if (delivery === "cmdline") {
      // The whole line as the VM will boot it, its address argument included, must fit.
      const base = [this.bootLine(rec, appliance, req), ...(rec.address ? [`vacfg.ip0=${rec.address}/${rec.prefix}`] : [])].join(" ");
      buildKernelCmdline(base, node.params, { template: this.templates.get(req.appliance)!, target: rec.driver === "xen" ? "xen-pv" : "linux-x86_64", ...(node.signature ? { signature: node.signature } : {}) });
      rec.kernelArgs = encodeCtxArg(node.params, node.signature);
    }
    await rm(rec.overlay, { force: true });
    await createOverlay(appliance.base, rec.overlay);
    const files: GuestFile[] = [
      ...(delivery === "patch" ? [{ path: CONTEXT_FILE_PATH, data: paramFile, mode: node.secret ? 0o600 : 0o644, uid: 0, gid: 0 }] : []),
      ...[...(req.files ?? []), ...(req.nodeFiles?.[node.name] ?? [])].map((f) => ({ path: f.path, data: f.content, mode: f.mode ?? 0o644, uid: 0, gid: 0 })),
    ];
    if (files.length) patchImage(rec.overlay, files);
    if (delivery === "nocloud") {
      rec.seed = join(this.o.stateDir, `${rec.name}${staging}.cidata.img`);
      const short = node.fqdn.split(".")[0];
      buildNoCloudVolume(rec.seed, noCloudSeed(node.params, { hostname: short, fqdn: node.fqdn, secret: node.secret, ...(node.signature ? { signature: node.signature } : {}) }));
    }
    if (delivery === "dhcp") {
      if (!this.o.network?.dhcp) throw new VacfgError("WORKSPACE_REQUEST", "delivery: dhcp needs network.dhcp.paramsUrl (the configuration server as the guests reach it) in the workspace configuration");
      if (!rec.address) throw new VacfgError("WORKSPACE_REQUEST", `delivery: dhcp needs an address for ${node.fqdn} (the template has no address-pool parameter)`);
      rec.ctxToken = randomBytes(16).toString("base64url");
      const doc: CtxDeliveryRecord = { fqdn: node.fqdn, text: paramFile };
      await this.o.store.put(CTX_DELIVERY_KIND, rec.ctxToken, doc);
    }
  }

  /** The deployment's dnsmasq: each VM's MAC gets its address and its parameter file's URL. */
  private startDhcp(req: DeployRequest, undo: DeployUndo): { pidFile: string; config: string } {
    const net = this.o.network!;
    if (!net.bridge) throw new VacfgError("WORKSPACE_REQUEST", "delivery: dhcp needs network.bridge (the bridge dnsmasq answers on)");
    const pool = this.o.site.pools[addressPool(this.templates.get(req.appliance)!)!];
    const base = net.dhcp!.paramsUrl.replace(/\/+$/, "");
    const files = { pidFile: join(this.o.stateDir, `${req.name}.dnsmasq.pid`), config: join(this.o.stateDir, `${req.name}.dnsmasq.conf`) };
    const nodes = dhcpNodesFrom(undo.records.map((r) => ({ fqdn: r.fqdn, mac: r.mac, address: r.address })), (fqdn) => `${base}${CTX_DELIVERY_PATH}/${undo.records.find((r) => r.fqdn === fqdn)!.ctxToken}`);
    startDnsmasq({ cidr: pool.cidr, ...(pool.gateway ? { gateway: pool.gateway } : {}), dnsServers: this.o.site.dnsServers, domain: this.o.site.domain, interface: net.bridge, dhcpOnly: true, nodes }, files, net.netns);
    undo.dhcp = files;
    return files;
  }

  /** Gives back what the VM's delivery holds outside its overlay: the seed volume, the served parameter file. */
  private async dropDelivery(rec: VmRecord): Promise<void> {
    if (rec.seed) await rm(rec.seed, { force: true });
    if (rec.ctxToken) await this.o.store.delete(CTX_DELIVERY_KIND, rec.ctxToken);
  }

  /** The appliance boot protocol's command line (before the driver's address arguments). */
  private bootLine(rec: VmRecord, appliance: ApplianceSpec, req: DeployRequest): string {
    const command = req.command ?? appliance.command;
    // Xen PV guests see their disk as xvda, QEMU's virtio as vda.
    const dhcp = rec.delivery === "dhcp" ? ["vacfg.dhcp=1"] : [];
    const extra = [...dhcp, ...(rec.kernelArgs ? [rec.kernelArgs] : [])].join(" ");
    return bootCmdline({ root: rec.driver === "xen" ? "/dev/xvda" : "/dev/vda", switchRoot: true, ...(command ? { command } : {}), ...(extra ? { extra } : {}) });
  }

  private vmSpec(rec: VmRecord, appliance: ApplianceSpec, req: DeployRequest): VmSpec {
    return {
      name: rec.name,
      memoryMiB: rec.resources.memoryMiB,
      vcpus: rec.resources.vcpus,
      ...(rec.resources.cpuWeight !== undefined ? { cpuWeight: rec.resources.cpuWeight } : {}),
      ...(rec.resources.cpuCap !== undefined ? { cpuCap: rec.resources.cpuCap } : {}),
      disks: [
        { path: rec.overlay, format: "qcow2", kind: "file", target: "xvda" },
        ...(rec.seed ? [{ path: rec.seed, format: "raw" as const, kind: "file" as const, target: "xvdb", readonly: true }] : []),
      ],
      // dhcp: the guest asks for its address (the same one, from dnsmasq) instead of being given it.
      nics: [{ mac: rec.mac, ...(rec.tap ? { tap: rec.tap } : {}), ...(this.o.network?.bridge ? { bridge: this.o.network.bridge } : {}), ...(rec.address && rec.delivery !== "dhcp" ? { address: `${rec.address}/${rec.prefix}` } : {}) }],
      kernel: appliance.kernel,
      ramdisk: appliance.initrd,
      cmdline: this.bootLine(rec, appliance, req),
      serialLog: rec.serialLog,
    };
  }

  private driverOf(rec: VmRecord): VmDriver {
    const d = this.drivers.get(rec.driver);
    if (!d) throw new VacfgError("VM", `VM ${rec.name} belongs to driver "${rec.driver}", which this service was not given`);
    return d;
  }

  /** The VMs a target names: one VM, or every VM of a deployment. */
  private async targets(target: string): Promise<VmRecord[]> {
    const vm = await this.o.store.get<VmRecord>(KIND.vm, target);
    if (vm) return [vm];
    const dep = await this.o.store.get<DeploymentRecord>(KIND.deployment, target);
    if (!dep) throw new VacfgError("WORKSPACE_NOT_FOUND", `no VM or deployment named "${target}"`);
    const out: VmRecord[] = [];
    for (const n of dep.vms) {
      const r = await this.o.store.get<VmRecord>(KIND.vm, n);
      if (r) out.push(r);
    }
    return out;
  }

  private async save(rec: VmRecord, change: Partial<VmRecord>): Promise<VmRecord> {
    const next = { ...rec, ...change, updatedAt: this.now() };
    await this.o.store.put(KIND.vm, rec.name, next);
    return next;
  }

  private requireActive(rec: VmRecord, op: string): void {
    if (!ACTIVE.includes(rec.phase)) throw new VacfgError("WORKSPACE_CONFLICT", `cannot ${op} ${rec.name}: it is ${rec.phase}`);
  }

  pause(target: string): Promise<VmRecord[]> {
    return this.serial(async () => {
      const out: VmRecord[] = [];
      for (const r of await this.targets(target)) {
        this.requireActive(r, "pause");
        if (r.phase !== "paused") await this.driverOf(r).pause(r.name);
        out.push(await this.save(r, { phase: "paused" }));
      }
      return out;
    });
  }

  /** Reactivates paused VMs. */
  unpause(target: string): Promise<VmRecord[]> {
    return this.serial(async () => {
      const out: VmRecord[] = [];
      for (const r of await this.targets(target)) {
        this.requireActive(r, "unpause");
        if (r.phase !== "running") await this.driverOf(r).unpause(r.name);
        out.push(await this.save(r, { phase: "running" }));
      }
      return out;
    });
  }

  /** Asks each guest to power off (forced after the driver's timeout), then releases its resources. */
  shutdown(target: string): Promise<VmRecord[]> {
    return this.serial(async () => {
      const recs = await this.targets(target);
      await Promise.all(recs.filter((r) => ACTIVE.includes(r.phase)).map((r) => this.stop(r, "shutdown")));
      return this.refetch(recs);
    });
  }

  /** Stops the VMs at once, releases everything and forgets them (and the deployment once empty). */
  destroy(target: string): Promise<string[]> {
    return this.serial(async () => {
      const recs = await this.targets(target);
      for (const r of recs) {
        // Also for a VM that died: the driver may still hold its state (pid file, sockets, config).
        await this.driverOf(r).destroy(r.name).catch(() => undefined);
        await this.release(r);
        await this.o.store.delete(KIND.vm, r.name);
        await this.dropFromDeployment(r);
      }
      return recs.map((r) => r.name);
    });
  }

  /** Changes the time to live of a VM or deployment, counted from now. */
  setTtl(target: string, ttlSeconds: number): Promise<VmRecord[]> {
    return this.serial(async () => {
      if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0) throw new VacfgError("WORKSPACE_REQUEST", `ttlSeconds: must be a number >= 0, got ${ttlSeconds}`);
      const out: VmRecord[] = [];
      for (const r of await this.targets(target)) out.push(await this.save(r, { expiresAt: this.now() + ttlSeconds * 1000 }));
      return out;
    });
  }

  /** Shuts down every active VM whose time to live has passed; returns their names. */
  reap(): Promise<string[]> {
    return this.serial(async () => {
      const now = this.now();
      const due = (await this.records()).filter((r) => ACTIVE.includes(r.phase) && r.expiresAt !== undefined && r.expiresAt <= now);
      await Promise.all(due.map((r) => this.stop(r, "expired")));
      return due.map((r) => r.name);
    });
  }

  /** Runs reap() every intervalMs; the returned function stops the loop. */
  startReaper(intervalMs: number, onError: (e: unknown) => void = () => undefined): () => void {
    const t = setInterval(() => void this.reap().catch(onError), intervalMs);
    t.unref();
    return () => clearInterval(t);
  }

  private async stop(r: VmRecord, phase: "shutdown" | "expired"): Promise<void> {
    await this.driverOf(r).shutdown(r.name);
    await this.release(await this.save(r, { phase, observed: "gone" }));
  }

  /** Gives back leases and deletes the overlay; idempotent. */
  private async release(r: VmRecord): Promise<void> {
    if (r.address && r.pool) await this.leases.release(KIND.address, `${r.pool}/${r.address}`, r.name);
    await this.leases.release(KIND.mac, r.mac, r.name);
    if (r.tap) await this.leases.release(KIND.tap, r.tap, r.name);
    await rm(r.overlay, { force: true });
    await this.dropDelivery(r);
    await this.o.store.delete(KIND.params, r.name);
    const cur = await this.o.store.get<VmRecord>(KIND.vm, r.name);
    if (cur && !cur.released) await this.o.store.put(KIND.vm, r.name, { ...cur, released: true, updatedAt: this.now() });
    await this.stopDhcpWhenIdle(r.deployment);
  }

  /** The deployment's dnsmasq runs while any of its VMs holds its leases. */
  private async stopDhcpWhenIdle(deploymentName: string): Promise<void> {
    const dep = await this.o.store.get<DeploymentRecord>(KIND.deployment, deploymentName);
    if (!dep?.dhcp) return;
    for (const n of dep.vms) if ((await this.o.store.get<VmRecord>(KIND.vm, n))?.released === false) return;
    await stopDnsmasq(dep.dhcp);
    const { dhcp: _stopped, ...rest } = dep;
    await this.o.store.put(KIND.deployment, deploymentName, rest);
  }

  private async dropFromDeployment(r: VmRecord): Promise<void> {
    const dep = await this.o.store.get<DeploymentRecord>(KIND.deployment, r.deployment);
    if (!dep) return;
    const vms = dep.vms.filter((n) => n !== r.name);
    if (vms.length === 0) await this.o.store.delete(KIND.deployment, r.deployment);
    else await this.o.store.put(KIND.deployment, r.deployment, { ...dep, vms });
  }

  private async refetch(recs: VmRecord[]): Promise<VmRecord[]> {
    const out: VmRecord[] = [];
    for (const r of recs) out.push((await this.o.store.get<VmRecord>(KIND.vm, r.name)) ?? r);
    return out;
  }

  private async records(): Promise<VmRecord[]> {
    return (await this.o.store.list<VmRecord>(KIND.vm)).map((r) => r.value).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Every VM with what the hypervisor says now. A VM recorded as running or paused that the
   * driver no longer lists (or lists as shut down or crashed) is marked died, once, in the store.
   */
  list(): Promise<VmRecord[]> {
    return this.serial(async () => {
      const live = new Map<string, Map<string, string>>();
      for (const d of this.drivers.values()) {
        if (!(await this.records()).some((r) => r.driver === d.name)) continue;
        live.set(d.name, new Map((await d.list()).map((s) => [s.name, s.state])));
      }
      const out: VmRecord[] = [];
      for (const r of await this.records()) {
        if (!ACTIVE.includes(r.phase)) {
          out.push(r);
          continue;
        }
        const state = live.get(r.driver)?.get(r.name);
        const readiness = this.o.runs ? await readinessOf(r, this.o.runs) : r.readiness;
        const change: Partial<VmRecord> = JSON.stringify(readiness) === JSON.stringify(r.readiness) ? {} : { readiness };
        if (state === undefined || state === "shutdown" || state === "crashed") out.push(await this.save(r, { ...change, phase: "died", observed: state ?? "gone" }));
        else out.push(r.observed === state && !change.readiness ? r : await this.save(r, { ...change, observed: state }));
      }
      return out;
    });
  }

  /**
   * Waits until every VM of the target is contextualized (readiness "ready"), polling the runs;
   * returns early when one is no longer running (it never will be). `ready` is false on timeout,
   * and the records say which are not and their last error.
   */
  async waitReady(target: string, o: { timeoutMs: number; pollMs?: number }): Promise<{ ready: boolean; vms: VmRecord[] }> {
    if (!this.o.runs) throw new VacfgError("WORKSPACE_REQUEST", "readiness is unknown: the workspace has no configuration server runs to read (WorkspaceOptions.runs)");
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const vms = await this.status(target);
      const ready = vms.length > 0 && vms.every((v) => v.readiness?.state === "ready");
      if (ready || vms.some((v) => !ACTIVE.includes(v.phase)) || Date.now() >= deadline) return { ready, vms };
      await new Promise((r) => setTimeout(r, Math.min(o.pollMs ?? 2000, Math.max(0, deadline - Date.now()))));
    }
  }

  async deployments(): Promise<DeploymentRecord[]> {
    return (await this.o.store.list<DeploymentRecord>(KIND.deployment)).map((r) => r.value).sort((a, b) => a.name.localeCompare(b.name));
  }

  async status(target: string): Promise<VmRecord[]> {
    const names = new Set((await this.targets(target)).map((r) => r.name));
    return (await this.list()).filter((r) => names.has(r.name));
  }
}

function nodeNames(req: DeployRequest): string[] {
  if (req.instance.names?.length) return req.instance.names;
  return Array.from({ length: req.instance.count ?? 0 }, (_, i) => `${req.instance.prefix ?? "node"}${i + 1}`);
}

/** The pool of the template's first single-address parameter: the one a VM's NIC gets. */
function addressPool(t: ContextTemplate): string | undefined {
  return t.params.find((p) => p.generator === "address-pool" && p.shape === "value")?.pool;
}
