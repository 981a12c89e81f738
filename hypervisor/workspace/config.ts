// The workspace configuration file (JSON) the CLI opens the service from: store, state
// directory, site file, appliances and network. Relative paths resolve against the file.
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { openStore } from "../../server/store/open-store.js";
import type { Store } from "../../server/store/store.js";
import { loadSiteFile } from "../ctx/site.js";
import { BOOT_MARKER } from "../appliance/boot-protocol.js";
import { defaultDrivers, pickDriver } from "./drivers.js";
import type { WorkspaceAdmission } from "./admission.js";
import { WorkspaceService } from "./service.js";
import type { ApplianceSpec } from "./types.js";

export interface WorkspaceConfig {
  /** sqlite:/path, a plain path, or postgres://… */
  store: string;
  stateDir: string;
  /** Site file path (hypervisor/ctx site.ts). */
  site: string;
  /** Appliance name -> template file + images (+ command, resources, attestation file). */
  appliances: Record<string, Omit<ApplianceSpec, "template" | "attestation"> & { template: string; attestation?: string }>;
  /** dhcp.paramsUrl: the configuration server as guests reach it, for the DHCP delivery (hypervisor/README.md). */
  network?: { netns?: string; taps?: string[]; bridge?: string; dhcp?: { paramsUrl: string } };
  accel?: "kvm" | "tcg" | "auto";
  /** Admit each appliance's base image by this policy before any deploy boots it. */
  admission?: WorkspaceAdmission;
}

/** Example (see hypervisor/README.md, workspace section). */
export const WORKSPACE_CONFIG_EXAMPLE = {
  store: "sqlite:workspace.db",
  stateDir: "vms",
  site: "site.json",
  appliances: { torque: { template: "torque.ctx.xml", base: "/var/cache/vacfg/images/appliance-….qcow2", kernel: "/var/cache/vacfg/kernel/…/vmlinuz", initrd: "/var/cache/vacfg/initramfs/….cpio.gz" } },
  // bridge + dhcp: only for requests with "delivery": "dhcp" (dnsmasq on the bridge, parameter
  // files served by the configuration server, which must use this same store)
  network: { netns: "vacfg-net", taps: ["vtap0", "vtap1"], bridge: "br0", dhcp: { paramsUrl: "https://10.0.0.1:6789" } },
  // optional: the base image needs a signed attestation (appliances.NAME.attestation, a file from
  // `vacfg attest sign`, or one recorded in the store) that this policy admits
  admission: { policy: "admission-policy.json", trustDir: "trusted-keys" },
};

function bad(path: string, msg: string): never {
  throw new VacfgError("WORKSPACE_REQUEST", `${path}: ${msg}`);
}

export function loadWorkspaceConfig(path: string): WorkspaceConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    bad(path, `cannot read workspace configuration: ${(e as Error).message}`);
  }
  const base = dirname(resolve(path));
  const abs = (p: unknown, field: string): string => {
    if (typeof p !== "string" || p === "") bad(path, `${field}: expected a path`);
    return resolve(base, p);
  };
  if (typeof raw.store !== "string") bad(path, "store: expected a store URL");
  const store = /^(sqlite:|postgres)/.test(raw.store) ? raw.store.replace(/^sqlite:(?!\/)/, `sqlite:${base}/`) : abs(raw.store, "store");
  const appliances: WorkspaceConfig["appliances"] = {};
  if (typeof raw.appliances !== "object" || raw.appliances === null) bad(path, "appliances: expected name -> {template, base, kernel, initrd}");
  for (const [name, a] of Object.entries(raw.appliances as Record<string, Record<string, unknown>>)) {
    const f = `appliances.${name}`;
    appliances[name] = {
      template: abs(a.template, `${f}.template`),
      base: abs(a.base, `${f}.base`),
      kernel: abs(a.kernel, `${f}.kernel`),
      initrd: abs(a.initrd, `${f}.initrd`),
      ...(typeof a.command === "string" ? { command: a.command } : {}),
      ...(a.attestation !== undefined ? { attestation: abs(a.attestation, `${f}.attestation`) } : {}),
    };
  }
  const network = raw.network as WorkspaceConfig["network"] | undefined;
  if (network?.dhcp !== undefined && (typeof network.dhcp !== "object" || network.dhcp === null || typeof network.dhcp.paramsUrl !== "string" || !/^https:\/\/[^\s"'\\]+$/.test(network.dhcp.paramsUrl))) {
    bad(path, "network.dhcp: expected {paramsUrl: \"https://server:port\"} (the configuration server as the guests reach it)");
  }
  let admission: WorkspaceAdmission | undefined;
  if (raw.admission !== undefined) {
    const a = raw.admission as Record<string, unknown>;
    if (typeof a !== "object" || a === null || Array.isArray(a)) bad(path, "admission: expected {policy, trustDir}");
    for (const k of Object.keys(a)) if (k !== "policy" && k !== "trustDir") bad(path, `admission.${k}: unknown field (known: policy, trustDir)`);
    admission = { policy: abs(a.policy, "admission.policy"), trustDir: abs(a.trustDir, "admission.trustDir") };
  }
  return {
    store, stateDir: abs(raw.stateDir, "stateDir"), site: abs(raw.site, "site"), appliances,
    ...(network ? { network } : {}), ...(raw.accel ? { accel: raw.accel as WorkspaceConfig["accel"] } : {}), ...(admission ? { admission } : {}),
  };
}

export interface OpenWorkspace {
  service: WorkspaceService;
  store: Store;
  close(): Promise<void>;
}

/** The service a configuration describes, with the driver picked by availability. */
export async function openWorkspace(cfg: WorkspaceConfig): Promise<OpenWorkspace> {
  const appliances: Record<string, ApplianceSpec> = {};
  for (const [name, a] of Object.entries(cfg.appliances)) {
    let template: string;
    try {
      template = readFileSync(a.template, "utf8");
    } catch (e) {
      throw new VacfgError("WORKSPACE_REQUEST", `appliances.${name}.template: ${(e as Error).message}`);
    }
    let attestation: string | undefined;
    if (a.attestation !== undefined) {
      try {
        attestation = readFileSync(a.attestation, "utf8");
      } catch (e) {
        throw new VacfgError("WORKSPACE_REQUEST", `appliances.${name}.attestation: ${(e as Error).message}`);
      }
    }
    appliances[name] = { ...a, template, ...(attestation !== undefined ? { attestation } : {}) };
  }
  const site = loadSiteFile(cfg.site);
  // KVM counts only when a trial boot of an appliance's kernel reaches the boot marker (where
  // /dev/kvm exists but QEMU aborts or the guest hangs, a probe without a guest would say yes).
  const probe = Object.values(appliances)[0];
  mkdirSync(cfg.stateDir, { recursive: true });
  const drivers = defaultDrivers({
    stateDir: resolve(cfg.stateDir, "drivers"), netns: cfg.network?.netns, accel: cfg.accel,
    kvmCacheFile: resolve(cfg.stateDir, "kvm-verdict.json"),
    ...(probe ? { kvmBoot: { kernel: probe.kernel, initrd: probe.initrd, marker: BOOT_MARKER } } : {}),
  });
  const driver = await pickDriver(drivers);
  const store = await openStore(cfg.store);
  let service: WorkspaceService;
  try {
    // The runs that make a node ready are the configuration server's: `vacfg server -w` shares this store.
    service = new WorkspaceService({ store, driver, drivers, site, appliances, stateDir: cfg.stateDir, network: cfg.network, runs: store, ...(cfg.admission ? { admission: cfg.admission } : {}) });
  } catch (e) {
    await store.close();
    throw e;
  }
  return { service, store, close: () => store.close() };
}
