// The VM boot driver contract: one interface that the Xen (`xl`) and QEMU drivers implement,
// and the VM specification both of them turn into their own configuration.

export type DiskFormat = "raw" | "qcow2";

export interface DiskSpec {
  /** Image file, or block device when kind is "phy". */
  path: string;
  format: DiskFormat;
  /** Guest device name (Xen vdev such as "xvda"); QEMU orders virtio disks as given. */
  target?: string;
  readonly?: boolean;
  kind: "file" | "phy";
}

export interface NicSpec {
  /** Unicast MAC, "xx:xx:xx:xx:xx:xx". */
  mac: string;
  /** Host bridge the backend joins (Xen vif bridge=). */
  bridge?: string;
  /** Existing host tap device (QEMU `-nic tap,ifname=`). */
  tap?: string;
  /**
   * The guest's static address in CIDR form. Xen passes it as vif `ip=` (anti-spoofing);
   * QEMU direct-kernel boots append `vacfg.ip<N>=` to the command line, which the vacfg
   * appliance init reads, because QEMU itself has no notion of guest addresses.
   */
  address?: string;
}

export interface VmSpec {
  /** Domain name; also the state-directory name, so restricted to [A-Za-z0-9_.-]. */
  name: string;
  memoryMiB: number;
  vcpus: number;
  /** Relative CPU share (Xen credit scheduler weight, 1..65535, default 256). */
  cpuWeight?: number;
  /** CPU cap in percent of one CPU (0 = no cap). */
  cpuCap?: number;
  disks: DiskSpec[];
  nics: NicSpec[];
  kernel?: string;
  ramdisk?: string;
  cmdline?: string;
  /** Boot the guest's own kernel through pvgrub (Xen) instead of kernel/ramdisk. */
  pvgrub?: boolean;
  /** File that receives the guest's serial console. */
  serialLog?: string;
}

export type VmState = "running" | "paused" | "shutdown" | "crashed" | "dying" | "blocked" | "unknown";

export interface VmStatus {
  name: string;
  state: VmState;
  /** Hypervisor id: the Xen domid or the QEMU pid. */
  id?: number;
  memoryMiB?: number;
  vcpus?: number;
}

export interface VmHandle {
  name: string;
  driver: string;
  id?: number;
  serialLog?: string;
}

export interface Availability {
  ok: boolean;
  /** Why the driver cannot run here, in the tool's own words. */
  reason?: string;
}

export interface VmDriver {
  readonly name: string;
  available(): Promise<Availability>;
  create(spec: VmSpec): Promise<VmHandle>;
  /** Ask the guest to power off (ACPI / PV shutdown), forcing it after the driver's timeout. */
  shutdown(name: string): Promise<void>;
  pause(name: string): Promise<void>;
  unpause(name: string): Promise<void>;
  /** Stop the VM at once, without asking the guest. */
  destroy(name: string): Promise<void>;
  list(): Promise<VmStatus[]>;
}
