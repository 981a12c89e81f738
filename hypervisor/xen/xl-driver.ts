// The Xen VM driver: writes the xl configuration for a VmSpec and drives the `xl` toolstack
// (create, shutdown, pause, unpause, destroy, list).
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import type { Availability, VmDriver, VmHandle, VmSpec, VmStatus } from "../vm/driver.js";
import { runChecked, runTool } from "../../lib/host-tools.js";
import { isValidVmName } from "../vm/spec.js";
import { renderXlConfig, type XlConfigOptions } from "./xl-config.js";
import { parseXlList } from "./xl-list.js";
import { writeFileAtomic } from "../../lib/atomic-file.js";

export interface XlDriverOptions extends XlConfigOptions {
  /** Where domain configuration files are written (one NAME.cfg per domain). */
  configDir: string;
  /** The xl binary (default "xl" from PATH). */
  xl?: string;
  /** Seconds `xl shutdown -w` waits before the driver falls back to `xl destroy`. */
  shutdownTimeoutS?: number;
}

export class XlDriver implements VmDriver {
  readonly name = "xen";
  private readonly xl: string;

  constructor(private readonly opts: XlDriverOptions) {
    this.xl = opts.xl ?? "xl";
  }

  /** xl needs a running Xen hypervisor and xenstore; `xl info` fails cleanly when either is missing. */
  async available(): Promise<Availability> {
    try {
      const r = await runTool(this.xl, ["info"], { timeoutMs: 15_000 });
      if (r.code === 0) return { ok: true };
      return { ok: false, reason: (r.stderr.trim() || r.stdout.trim() || `xl info exit ${r.code}`).replace(/\n/g, " | ") };
    } catch (e) {
      return { ok: false, reason: `${this.xl}: ${(e as Error).message}` };
    }
  }

  /** Writes CONFIGDIR/NAME.cfg atomically (lib/atomic-file), so a failed write never leaves half a config. */
  async writeConfig(spec: VmSpec): Promise<string> {
    const text = renderXlConfig(spec, this.opts);
    await mkdir(this.opts.configDir, { recursive: true });
    const path = join(this.opts.configDir, `${spec.name}.cfg`);
    writeFileAtomic(path, text, { mode: 0o600 });
    return path;
  }

  async create(spec: VmSpec): Promise<VmHandle> {
    const path = await this.writeConfig(spec);
    await runChecked(this.xl, ["create", path], { timeoutMs: 120_000 });
    const status = (await this.list()).find((s) => s.name === spec.name);
    return { name: spec.name, driver: this.name, id: status?.id, serialLog: spec.serialLog };
  }

  async shutdown(name: string): Promise<void> {
    const domain = checkName(name);
    const r = await runTool(this.xl, ["shutdown", "-w", domain], { timeoutMs: (this.opts.shutdownTimeoutS ?? 60) * 1000 });
    // A guest that ignores the PV shutdown request (or a wait that timed out) is destroyed.
    if (r.code !== 0) await this.destroy(domain);
  }

  async pause(name: string): Promise<void> {
    await runChecked(this.xl, ["pause", checkName(name)]);
  }

  async unpause(name: string): Promise<void> {
    await runChecked(this.xl, ["unpause", checkName(name)]);
  }

  async destroy(name: string): Promise<void> {
    await runChecked(this.xl, ["destroy", checkName(name)]);
  }

  async list(): Promise<VmStatus[]> {
    return parseXlList(await runChecked(this.xl, ["list"]));
  }
}

function checkName(name: string): string {
  // A name starting with "-" would be read by xl as an option.
  if (!isValidVmName(name)) throw new VacfgError("VM", `xl: invalid domain name ${JSON.stringify(name)}`);
  return name;
}
