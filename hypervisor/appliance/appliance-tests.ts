// The appliance's own tests, declared in its repository as Bcfg2 declares probes: one executable
// script per file under Appliance/tests/ (interpreter from the #! line), run chrooted in the image
// root, in name order; exit 0 passes. `vacfg image build` and `vacfg image update` run them and
// sign nothing when one fails.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { VacfgError } from "../../protocol/errors.js";

/** Where a repository declares its appliance tests. */
export const APPLIANCE_TESTS_DIR = "Appliance/tests";

export interface ApplianceTest {
  name: string;
  path: string;
  interpreter: string;
}

export interface ApplianceTestResult {
  name: string;
  passed: boolean;
  /** Exit status, or the signal / refusal text. */
  status: string;
  output: string;
  ms: number;
}

/** The tests of a repository, in name order; a file without a #! line is an error naming it. */
export function findApplianceTests(repo: string): ApplianceTest[] {
  const dir = join(repo, APPLIANCE_TESTS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => !n.startsWith(".") && !n.endsWith("~") && statSync(join(dir, n)).isFile())
    .sort()
    .map((name) => {
      const path = join(dir, name);
      const first = readFileSync(path, "utf8").split("\n", 1)[0] ?? "";
      if (!first.startsWith("#!")) throw new VacfgError("IMAGE", `${path}:1: an appliance test starts with an interpreter line (#!/bin/sh)`);
      return { name, path, interpreter: first.slice(2).trim().split(/\s+/)[0] ?? "" };
    });
}

const TIMEOUT_MS = 5 * 60_000;
const MAX_OUTPUT = 64 * 1024;

function runOne(root: string, t: ApplianceTest): Promise<ApplianceTestResult> {
  const t0 = Date.now();
  if (!existsSync(join(root, t.interpreter))) {
    return Promise.resolve({ name: t.name, passed: false, status: `the image has no ${t.interpreter}`, output: "", ms: 0 });
  }
  const dir = mkdtempSync(join(root, "tmp", "vacfg-test-"));
  const script = join(dir, t.name);
  writeFileSync(script, readFileSync(t.path), { mode: 0o700 });
  return new Promise((resolve) => {
    const child = spawn("chroot", [root, "/" + relative(root, script)], {
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const take = (b: Buffer) => {
      if (output.length < MAX_OUTPUT) output += b.toString("utf8");
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    const done = (passed: boolean, status: string) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ name: t.name, passed, status, output: output.slice(0, MAX_OUTPUT), ms: Date.now() - t0 });
    };
    child.on("error", (e) => done(false, `chroot: ${e.message}`));
    child.on("close", (code, signal) => done(code === 0, signal ? `killed by ${signal}` : `exit ${code}`));
  });
}

/** Runs every test chrooted in `root` (needs root); all run, so one report lists each failure. */
export async function runApplianceTests(repo: string, root: string, progress: (m: string) => void): Promise<ApplianceTestResult[]> {
  const tests = findApplianceTests(repo);
  if (tests.length && process.getuid?.() !== 0) throw new VacfgError("IMAGE", `running the appliance tests chrooted in ${root} needs root (uid ${process.getuid?.()})`);
  const results: ApplianceTestResult[] = [];
  for (const t of tests) {
    const r = await runOne(root, t);
    progress(`appliance test ${t.name}: ${r.passed ? "passed" : `FAILED (${r.status})`} in ${r.ms} ms`);
    results.push(r);
  }
  return results;
}

/** Throws IMAGE listing each failed test with its output, when any failed. */
export function requirePassed(results: ApplianceTestResult[], what: string): void {
  const failed = results.filter((r) => !r.passed);
  if (!failed.length) return;
  const detail = failed.map((r) => `${APPLIANCE_TESTS_DIR}/${r.name}: ${r.status}${r.output.trim() ? `: ${r.output.trim().split("\n").slice(-5).join(" | ")}` : ""}`);
  throw new VacfgError("IMAGE", `${what}: ${failed.length} of ${results.length} appliance test(s) failed: ${detail.join("; ")}`);
}
