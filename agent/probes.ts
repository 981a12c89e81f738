// Running the server's probes: each script written with its interpreter line to a private temp
// file, run with a timeout, stdout captured as the probe's value; failures are reported. Under
// --root the probe describes the image, not the host: it runs chrooted into the root, or not at all.
import { mkdtempSync, rmSync, statSync, writeFileSync, type BigIntStats } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import type { Probe, ProbeDataItem } from "../protocol/documents/probes.js";
import { execCommand } from "./exec.js";
import type { Logger } from "./log.js";
import { chrootRefusal, inRoot } from "./root.js";

export interface ProbeOutcome {
  item: ProbeDataItem;
  /** Why the probe failed (non-zero exit, timeout, cannot run), or undefined. */
  failure?: string;
}

export async function runProbe(probe: Probe, timeoutMs: number, log: Logger, root = "/"): Promise<ProbeOutcome> {
  log.info(`Running probe ${probe.name}`);
  const chrooted = root !== "/";
  if (chrooted) {
    const refused = chrootRefusal(root, probe.interpreter.trim().split(/\s+/)[0]);
    if (refused) return { item: { name: probe.name, source: probe.source, output: "" }, failure: `not run: ${refused}` };
  }
  // Inside the root the script lives in the root's /tmp (resolved like a chroot would: a symlinked
  // /tmp in the image never points the write at the host).
  const base = chrooted ? dirname(inRoot(root, "/tmp/probe")) : tmpdir();
  let dir: string;
  let baseStat: BigIntStats | undefined;
  try {
    if (chrooted) baseStat = statSync(base, { bigint: true });
    dir = mkdtempSync(join(base, "vacfg-probe-"));
  } catch (e) {
    return { item: { name: probe.name, source: probe.source, output: "" }, failure: `not run: no temp file in ${base}: ${(e as Error).message}` };
  }
  try {
    const script = join(dir, "probe");
    // as upstream: "#!interpreter\n" + the script text (whose own #! line is then a comment)
    writeFileSync(script, `#!${probe.interpreter}\n${probe.script}`, { mode: 0o700 });
    const argv = chrooted ? ["chroot", root, "/" + posix.relative(root, script)] : [script];
    const r = await execCommand(argv, { timeoutMs });
    if (r.stderr.trim()) log.warn(`Probe ${probe.name} has error output: ${r.stderr.trim()}`);
    log.info(`Probe ${probe.name} has result:\n${r.stdout}`);
    const item = { name: probe.name, source: probe.source, output: r.stdout };
    return r.code === 0 ? { item } : { item, failure: r.code === 127 ? r.stderr.trim() : `Return value ${r.code}${r.stderr.includes("killed after") ? " (timed out)" : ""}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (baseStat) await restoreTimes(base, baseStat);
  }
}

/**
 * Puts the root's /tmp times back, so a dry run leaves the image as it found it. touch(1) sets them
 * to the nanosecond; fs.utimes takes seconds as a double and would not.
 */
async function restoreTimes(path: string, st: BigIntStats): Promise<void> {
  const at = (ns: bigint) => `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}`;
  await execCommand(["touch", "-a", "-d", at(st.atimeNs), path]);
  await execCommand(["touch", "-m", "-d", at(st.mtimeNs), path]);
}
