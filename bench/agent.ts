// bench/agent [runs=5]: the vacfg agent for the Torque head node (node0 of the lab repository,
// served by the upstream Bcfg2 server over TLS): a first run into a fresh image root and a
// no-change run, against the upstream bcfg2 client's dry run of the same configuration, same run.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { addShell, buildAptRepo, makeBaseRoot, type DebSpec } from "../agent/image-root.js";
import { freePort } from "../harness/free-port.js";

const here = dirname(fileURLToPath(import.meta.url));
const AGENT = resolve(here, "../agent/main.js");
const REF = process.env.BCFG2_REF ?? "/opt/bcfg2-ref";
const LAB = resolve(here, "../../../shared/bcfg2-ref/repo");
const runs = Number(process.argv[2] ?? 5);

const unit = (d: string) => `[Unit]\nDescription=${d}\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n`;
// placeholders for the packages node0's bundles name, shipping the files the real ones would
const PACKAGES: DebSpec[] = [
  ...["bash", "coreutils", "openssh-client"].map((name) => ({ name, version: "1.0-1", files: { [`usr/share/doc/${name}/placeholder`]: `${name}\n` } })),
  { name: "torque-client", version: "6.1.2-1", files: { "var/spool/torque/": ["", 0o755], "var/spool/torque/spool/": ["", 0o1777] } },
  { name: "torque-scheduler", version: "6.1.2-1", files: { "lib/systemd/system/torque-scheduler.service": unit("scheduler") } },
  { name: "torque-server", version: "6.1.2-1", files: { "lib/systemd/system/torque-server.service": unit("server") } },
];

function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): { ms: number; status: number | null; out: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: "utf8", maxBuffer: 64 << 20 });
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, status: r.status, out: r.stdout + r.stderr };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "vacfg-bench-agent-"));
  const env = { ...process.env, BCFG2_REF: REF };
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const lab = join(work, "lab");
  cpSync(LAB, lab, { recursive: true });
  const start = () => execFileSync(join(REF, "start-server.sh"), ["--repo", lab, "--port", String(port), "--in-place"], { env, stdio: "pipe" });
  const stop = () => execFileSync(join(REF, "stop-server.sh"), ["--port", String(port)], { env, stdio: "pipe" });
  try {
    // the lab server makes node0's ssh keys on first use and sees them only after a restart
    start();
    execFileSync("/usr/bin/python3", [join(REF, "xmlrpc-call.py"), url, "node0", "node0secret", "GetConfig"], { stdio: "pipe" });
    stop();
    start();
    const repo = buildAptRepo(work, PACKAGES);
    const agentArgs = (root: string) => [process.execPath, AGENT, "-S", url, "-u", "node0", "-x", "node0secret", "--ca", join(REF, "certs/ca.crt"), "--root", root, "-q"];

    const first: number[] = [];
    const noChange: number[] = [];
    for (let i = 0; i < runs; i++) {
      const root = join(work, `root${i}`);
      makeBaseRoot(root, repo);
      addShell(root);
      const f = timed(agentArgs(root));
      if (f.status !== 0) throw new Error(`agent first run failed (${f.status}):\n${f.out}`);
      first.push(f.ms);
      const n = timed(agentArgs(root));
      if (n.status !== 0) throw new Error(`agent no-change run failed (${n.status}):\n${n.out}`);
      noChange.push(n.ms);
    }
    const upstream: number[] = [];
    for (let i = 0; i < runs; i++) {
      const u = timed([join(REF, "run-real-client.sh"), url, "node0", "node0secret"], { ...env, BCFG2_CA: join(REF, "certs/ca.crt") });
      if (u.status !== 0) throw new Error(`upstream client failed (${u.status}):\n${u.out}`);
      upstream.push(u.ms);
    }
    const [f, n, u] = [median(first), median(noChange), median(upstream)];
    console.log(`agent, Torque head node0 (lab repository, upstream server over TLS), median of ${runs}:`);
    console.log(`  vacfg agent first run (fresh root: 26 entries, apt/dpkg, systemctl --root): ${f.toFixed(0)} ms`);
    console.log(`  vacfg agent no-change run:                                            ${n.toFixed(0)} ms`);
    console.log(`  upstream bcfg2 client dry run (-n -q), same configuration:             ${u.toFixed(0)} ms`);
    console.log(`  ratio upstream dry run / vacfg no-change run: ${(u / n).toFixed(2)}x`);
    console.log(`  ratio upstream dry run / vacfg first run:     ${(u / f).toFixed(2)}x`);
  } finally {
    try {
      stop();
    } catch {
      /* already stopped */
    }
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
