// Running the server's probes: each script written with its interpreter line to a private temp
// file, run with a timeout, stdout captured as the probe's value; failures are reported.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Probe, ProbeDataItem } from "../protocol/documents/probes.js";
import { execCommand } from "./exec.js";
import type { Logger } from "./log.js";

export interface ProbeOutcome {
  item: ProbeDataItem;
  /** Why the probe failed (non-zero exit, timeout, cannot run), or undefined. */
  failure?: string;
}

export async function runProbe(probe: Probe, timeoutMs: number, log: Logger): Promise<ProbeOutcome> {
  log.info(`Running probe ${probe.name}`);
  const dir = mkdtempSync(join(tmpdir(), "vacfg-probe-"));
  try {
    const script = join(dir, "probe");
    // as upstream: "#!interpreter\n" + the script text (whose own #! line is then a comment)
    writeFileSync(script, `#!${probe.interpreter}\n${probe.script}`, { mode: 0o700 });
    const r = await execCommand([script], { timeoutMs });
    if (r.stderr.trim()) log.warn(`Probe ${probe.name} has error output: ${r.stderr.trim()}`);
    log.info(`Probe ${probe.name} has result:\n${r.stdout}`);
    const item = { name: probe.name, source: probe.source, output: r.stdout };
    return r.code === 0 ? { item } : { item, failure: r.code === 127 ? r.stderr.trim() : `Return value ${r.code}${r.stderr.includes("killed after") ? " (timed out)" : ""}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
