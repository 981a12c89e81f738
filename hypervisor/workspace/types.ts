// The workspace's data: what a deployment request asks for, and the VM and deployment records
// kept in the store (so they survive a restart of the service). Plain JSON, nothing else.
import type { AttestationDocument } from "../../protocol/attestation.js";
import type { Delivery } from "../../protocol/ctx-delivery.js";
import type { ParameterFileJson } from "../../protocol/params.js";
import type { InstanceRequest } from "../ctx/site.js";

/** Resources of one VM. cpuWeight is a relative share (Xen credit weight), cpuCap percent of one CPU. */
export interface Resources {
  memoryMiB: number;
  vcpus: number;
  cpuWeight?: number;
  cpuCap?: number;
}

/** A bootable appliance the service knows: its context template and its images. */
export interface ApplianceSpec {
  /** Context template XML (protocol/ctx-template.ts). */
  template: string;
  /** qcow2 base image; each VM boots a copy-on-write overlay of it. */
  base: string;
  kernel: string;
  initrd: string;
  /** Shell command stage 2 runs after boot (hypervisor/appliance boot protocol). */
  command?: string;
  resources?: Partial<Resources>;
  /**
   * The base image's signed attestation (document or its JSON text). Without one, admission
   * looks it up in the store (kind "attestation", by the image digest).
   */
  attestation?: AttestationDocument | string;
}

/** A file written into a VM's overlay next to its parameter file. */
export interface GuestFileSpec {
  path: string;
  content: string;
  /** Octal permission bits (default 0o644). */
  mode?: number;
}

export interface DeployRequest {
  /** Deployment (group) name, also the prefix of its VM names: [a-z0-9][a-z0-9-]*. */
  name: string;
  /** Name of an appliance the service was configured with. */
  appliance: string;
  /** Nodes, users and parameter overrides (hypervisor/ctx instance request). */
  instance: InstanceRequest;
  resources?: Partial<Resources>;
  /** Per node (short name): resources that differ. */
  nodeResources?: Record<string, Partial<Resources>>;
  /** Seconds until the VMs are shut down and their resources released; none = no limit. */
  ttlSeconds?: number;
  /** Files for every node, and per node (short name). */
  files?: GuestFileSpec[];
  nodeFiles?: Record<string, GuestFileSpec[]>;
  /** Overrides the appliance's boot command. */
  command?: string;
  /** How the parameters reach the nodes (default "patch"); see hypervisor/workspace/delivery.ts. */
  delivery?: Delivery;
}

/**
 * Whether the node is contextualized: its first clean run (statistics the agent sent the
 * configuration server) since the VM's disk was booted (created, or replaced by an update). "pending" until then; the last run's state and
 * what was wrong with it say why.
 */
export interface Readiness {
  state: "pending" | "ready";
  /** Server time of the first clean run (ms). */
  contextualizedAt?: number;
  lastRunAt?: number;
  lastRunState?: "clean" | "dirty";
  /** Why the last run was not clean (bad entries), or why there is no run. */
  lastError?: string;
}

/**
 * running/paused: as last asked; shutdown: stopped on request; expired: stopped by the reaper;
 * died: the hypervisor no longer runs it though nobody stopped it.
 */
export type VmPhase = "running" | "paused" | "shutdown" | "expired" | "died";

export interface VmRecord {
  name: string;
  deployment: string;
  /** Node short name and FQDN from the deployment. */
  node: string;
  fqdn: string;
  driver: string;
  phase: VmPhase;
  mac: string;
  address?: string;
  /** Prefix length of the address's pool. */
  prefix?: number;
  pool?: string;
  tap?: string;
  overlay: string;
  serialLog: string;
  resources: Resources;
  createdAt: number;
  /** When its current disk was first booted: the deployment, or the last update that replaced it (absent: createdAt). */
  bootedAt?: number;
  expiresAt?: number;
  updatedAt: number;
  /**
   * What the hypervisor reported last (list()): "running", "paused", "unknown", or for a VM that
   * ended "shutdown" (it powered off in order), "crashed" (killed or crashed: a SIGKILLed QEMU),
   * "gone" (the driver no longer knows it, or this service stopped it).
   */
  observed?: string;
  /** True once leases and the overlay were given back. */
  released: boolean;
  /** How its parameters were delivered (absent in records from before deliveries: patch). */
  delivery?: Delivery;
  /** cmdline: the vacfg.ctx= argument appended to the boot command line. */
  kernelArgs?: string;
  /** nocloud: the "cidata" seed volume attached as the second disk. */
  seed?: string;
  /** dhcp: the token of its parameter file record (protocol/ctx-delivery.ts). */
  ctxToken?: string;
  readiness?: Readiness;
}

/** What admission accepted for a deployment: the base image's digest and who vouched for it. */
export interface AdmissionRecord {
  digest: string;
  /** Key fingerprint of the attestation's signer. */
  signer: string;
  issuer: string;
  issuedAt: string;
  /** The policy file that admitted it. */
  policy: string;
}

export interface DeploymentRecord {
  name: string;
  appliance: string;
  vms: string[];
  createdAt: number;
  ttlSeconds?: number;
  /** Present when the service admits images (WorkspaceOptions.admission). */
  admission?: AdmissionRecord;
  delivery?: Delivery;
  /** dhcp: the deployment's dnsmasq (pid file and config), stopped once none of its VMs is active. */
  dhcp?: { pidFile: string; config: string };
  /** When an update last replaced its VMs with new parameters. */
  updatedAt?: number;
}

/**
 * A VM's assembled parameters (their JSON form, secrets included), kept so that an update can
 * reuse its address and generated values; deleted with the VM's leases. Never shown by the API.
 */
export interface VmParamsRecord {
  fqdn: string;
  params: ParameterFileJson;
}

export const KIND = {
  vm: "workspace.vm",
  deployment: "workspace.deployment",
  address: "workspace.lease.address",
  mac: "workspace.lease.mac",
  tap: "workspace.lease.tap",
  params: "workspace.params",
} as const;
