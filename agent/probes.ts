// Running the server's probes: each script written with its interpreter line to a file in the
// run's private temp directory, run with a timeout, stdout captured as the probe's value; failures
// are reported. Under --root the probe describes the image, not the host: it runs chrooted into
// the root, or not at all.
import { mkdtempSync, rmSync, statSync, writeFileSync, type BigIntStats } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import type { Probe, ProbeDataItem } from "../protocol/documents/probes.js";
import { execCommand, nextTurn } from "./exec.js";
import { deferredLogger, type Logger } from "./log.js";
import { chrootArgv, chrootRefusal, inRoot } from "./root.js";

export interface ProbeOutcome {
  item: ProbeDataItem;
  /** Why the probe failed (non-zero exit, timeout, cannot run), or undefined. */
  failure?: string;
}

/**
 * The private directory a run's probes are written to, one file each. Under --root it is in the
 * root's /tmp (resolved like a chroot would: a symlinked /tmp in the image never points the write
 * at the host) and the probes run chrooted; closing it puts /tmp's times back, once per run.
 */
export class ProbeScratch {
  private count = 0;
  private constructor(
    private readonly root: string,
    private readonly dir: string | undefined,
    private readonly refused: string | undefined,
    private readonly base: string,
    private readonly baseStat?: BigIntStats,
  ) {}

  static open(root = "/"): ProbeScratch {
    const chrooted = root !== "/";
    const base = chrooted ? dirname(inRoot(root, "/tmp/probe")) : tmpdir();
    try {
      const baseStat = chrooted ? statSync(base, { bigint: true }) : undefined;
      return new ProbeScratch(root, mkdtempSync(join(base, "vacfg-probe-")), undefined, base, baseStat);
    } catch (e) {
      return new ProbeScratch(root, undefined, `no temp file in ${base}: ${(e as Error).message}`, base);
    }
  }

  async run(probe: Probe, timeoutMs: number, log: Logger): Promise<ProbeOutcome> {
    log.info(`Running probe ${probe.name}`);
    const notRun = (why: string): ProbeOutcome => ({ item: { name: probe.name, source: probe.source, output: "" }, failure: `not run: ${why}` });
    const chrooted = this.root !== "/";
    if (chrooted) {
      const refused = chrootRefusal(this.root, probe.interpreter.trim().split(/\s+/)[0]);
      if (refused) return notRun(refused);
    }
    if (!this.dir) return notRun(this.refused!);
    const script = join(this.dir, `probe-${++this.count}`);
    try {
      // as upstream: "#!interpreter\n" + the script text (whose own #! line is then a comment)
      writeFileSync(script, `#!${probe.interpreter}\n${probe.script}`, { mode: 0o700 });
      const argv = chrooted ? chrootArgv(this.root, ["/" + posix.relative(this.root, script)]) : [script];
      const r = await execCommand(argv, { timeoutMs });
      if (r.stderr.trim()) log.warn(`Probe ${probe.name} has error output: ${r.stderr.trim()}`);
      log.info(`Probe ${probe.name} has result:\n${r.stdout}`);
      const item = { name: probe.name, source: probe.source, output: r.stdout };
      return r.code === 0 ? { item } : { item, failure: r.code === 127 ? r.stderr.trim() : `Return value ${r.code}${r.stderr.includes("killed after") ? " (timed out)" : ""}` };
    } finally {
      rmSync(script, { force: true });
    }
  }

  /**
   * Runs the probes side by side (each in its own script file) and hands their outcomes to `each`
   * in the server's order, each with its log lines, so the output reads as one after the other.
   * When `each` throws (a failure that ends the run), the probes still running are waited for.
   */
  async runAll(probes: Probe[], timeoutMs: number, log: Logger, each: (probe: Probe, outcome: ProbeOutcome) => void): Promise<void> {
    const runs: { probe: Probe; d: ReturnType<typeof deferredLogger>; outcome: Promise<ProbeOutcome> }[] = [];
    for (const probe of probes) {
      // each starts on a turn of its own (exec.ts nextTurn)
      if (runs.length) await nextTurn();
      const d = deferredLogger();
      runs.push({ probe, d, outcome: this.run(probe, timeoutMs, d.log) });
    }
    try {
      for (const r of runs) {
        const outcome = await r.outcome;
        r.d.flush(log);
        each(r.probe, outcome);
      }
    } finally {
      await Promise.allSettled(runs.map((r) => r.outcome));
    }
  }

  /** Removes the directory and puts the root's /tmp times back, so a dry run leaves the image as it found it. */
  async close(): Promise<void> {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    if (this.baseStat) await restoreTimes(this.base, this.baseStat, statSync(this.base, { bigint: true }));
  }
}

/** One probe in a scratch directory of its own. */
export async function runProbe(probe: Probe, timeoutMs: number, log: Logger, root = "/"): Promise<ProbeOutcome> {
  const scratch = ProbeScratch.open(root);
  try {
    return await scratch.run(probe, timeoutMs, log);
  } finally {
    await scratch.close();
  }
}

/**
 * Puts a directory's times back to `was`, those that differ `now`. touch(1) sets them to the
 * nanosecond; fs.utimes takes seconds as a double (libuv keeps microseconds) and would not. Access
 * and modification time are separate touches (each leaves the other alone), side by side; the
 * access time usually needs none (nothing lists /tmp): one program started, not two.
 */
async function restoreTimes(path: string, was: BigIntStats, now: BigIntStats): Promise<void> {
  const at = (ns: bigint) => `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}`;
  const touches: Promise<unknown>[] = [];
  if (now.atimeNs !== was.atimeNs) touches.push(execCommand(["touch", "-a", "-d", at(was.atimeNs), path]));
  if (now.mtimeNs !== was.mtimeNs) touches.push(execCommand(["touch", "-m", "-d", at(was.mtimeNs), path]));
  await Promise.all(touches);
}
