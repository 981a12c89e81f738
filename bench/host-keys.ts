// A new client's SSH host keys (rsa, ecdsa, ed25519 at once, as SSHbase makes them): generated
// in-process (server/plugins/shared/ssh-keygen.ts) against the baseline of one ssh-keygen process
// per key, measured alternately in the same run. Usage: node dist/bench/host-keys.js [clients=10]
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { generateKeyPair } from "../server/plugins/shared/ssh-keygen.js";

const run = promisify(execFile);
const CLIENTS = Number(process.argv[2] ?? 10);
const TYPES = ["rsa", "ecdsa", "ed25519"];
const dir = mkdtempSync(join(tmpdir(), "vacfg-bench-keys-"));

async function withProcesses(i: number): Promise<void> {
  await Promise.all(
    TYPES.map(async (t) => {
      const f = join(dir, `${t}-${i}`);
      await run("ssh-keygen", ["-q", "-f", f, "-t", t, "-N", "", "-C", `root@sim${i}`]);
      readFileSync(f, "utf8");
    }),
  );
}

async function inProcess(i: number): Promise<void> {
  await Promise.all(TYPES.map((t) => generateKeyPair({ type: t, comment: `root@sim${i}` })));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const times: Record<string, number[]> = { "ssh-keygen processes (baseline)": [], "in-process (ssh2)": [] };
try {
  for (let i = 0; i < CLIENTS; i++) {
    for (const [label, fn] of [["ssh-keygen processes (baseline)", withProcesses], ["in-process (ssh2)", inProcess]] as const) {
      const t0 = performance.now();
      await fn(i);
      times[label].push(performance.now() - t0);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const [label, xs] of Object.entries(times)) console.log(`${label.padEnd(32)} median ${median(xs).toFixed(0).padStart(6)} ms per new client (${CLIENTS} clients, rsa+ecdsa+ed25519)`);
const [base, ours] = Object.values(times).map(median);
console.log(`ratio in-process / processes: ${(ours / base).toFixed(2)} (RSA 3072 prime search dominates both)`);
