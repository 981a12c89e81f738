// bench/agent [runs=5]: the vacfg agent for the Torque head node (node0 of the lab repository,
// served by the upstream Bcfg2 server over TLS) against the upstream bcfg2 client, same server,
// same configuration, interleaved run by run:
// - a no-change run against the upstream client's dry run (-n) on this host;
// - a first (real) run into a fresh Debian root against the upstream client's real run into
//   another fresh copy of that root (it runs chrooted there, harness/debian-client-root.ts);
// - the agent's first run into a fresh minimal image root (makeBaseRoot), for reference.
// The agent is the esbuild bundle the vacfg-agent package ships; its no-change run from the
// compiled tree (dist/agent/main.js) is printed beside it. Beside the first runs: the same
// packages installed by apt-get alone (as the agent runs it) into a third copy of the root, the
// part both clients spend in the same apt-get/dpkg/debconf, the bound it puts on the ratio, and the
// ratio of what each client spends beside it (its first run less apt-get alone). The
// bundle keeps its V8 code cache as the package's does (written by the first run, here the first
// image-root run); its first run into a Debian root and its start-up alone (--help, beside node's
// own start) are also run without the cache, side by side.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execCommand } from "../agent/exec.js";
import { addShell, buildAptRepo, makeBaseRoot, type DebSpec } from "../agent/image-root.js";
import { createLogger } from "../agent/log.js";
import { AptTool } from "../agent/tools/apt.js";
import { parseStatistics } from "../protocol/documents/statistics.js";
import { inChroot, makeClientRootTemplate, upstreamClientArgv } from "../harness/debian-client-root.js";
import { freePort } from "../harness/free-port.js";
import { AGENT_ENTRY, AGENT_NODE_OPTIONS, bundleAgent } from "../packaging/agent-bundle.js";
import { AGENT_CODE_CACHE_ENV } from "../packaging/agent-layout.js";

const here = dirname(fileURLToPath(import.meta.url));
const TREE = resolve(here, "../agent/main.js");
const REF = process.env.BCFG2_REF ?? "/opt/bcfg2-ref";
const LAB = resolve(here, "../../../shared/bcfg2-ref/repo");
const runs = Number(process.argv[2] ?? 5);
const quiet = createLogger("error", "bench", { out: () => {}, err: () => {} });

const unit = (d: string) => `[Unit]\nDescription=${d}\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n`;
// placeholders for the packages node0's bundles name, shipping the files the real ones would
const PACKAGES: DebSpec[] = [
  ...["bash", "coreutils", "openssh-client"].map((name) => ({ name, version: "1.0-1", files: { [`usr/share/doc/${name}/placeholder`]: `${name}\n` } })),
  { name: "torque-client", version: "6.1.2-1", files: { "var/spool/torque/": ["", 0o755], "var/spool/torque/spool/": ["", 0o1777] } },
  { name: "torque-scheduler", version: "6.1.2-1", files: { "lib/systemd/system/torque-scheduler.service": unit("scheduler") } },
  { name: "torque-server", version: "6.1.2-1", files: { "lib/systemd/system/torque-server.service": unit("server") } },
];

/** CPU time (user + system, ms) of this process's waited-for descendants: /proc/self/stat cutime + cstime. */
function childrenCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on: cutime is 16, cstime 17
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** Wall time and the CPU time of every process of the command (all of them are waited for). */
function timed(what: string, argv: string[], env: NodeJS.ProcessEnv = process.env): { ms: number; cpu: number; out: string } {
  const c0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: "utf8", maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return { ms, cpu: childrenCpuMs() - c0, out: r.stdout + r.stderr };
}
/**
 * Writes back what is still dirty on `root`'s filesystem (syncfs) before a run into it is timed: a
 * fresh copy of the template leaves about 300 MB unwritten, and the first fsync of a run (the
 * agent's, dpkg's) would wait for that share of it which the journal commit it forces takes along.
 * Without this, whichever run follows the copies pays for them (measured: 30-40 ms).
 */
const settled = (root: string) => execFileSync("sync", ["-f", root]);
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

/**
 * The phases of one run, in ms, from the OpStamps of its statistics (seconds since the epoch) and the
 * wall clock around its process: start-up until the run's start stamp, the run's phases, and what
 * follows the re-inventory (the background fsyncs waited for, RecvStats, exit).
 */
function runPhases(statistics: string, began: number, ended: number): Record<string, number> {
  const s = parseStatistics(statistics).opStamps;
  const at = (k: string) => Number(s[k]) * 1000;
  if (!["start", "probe_download", "probe_upload", "config_download", "inventory", "install", "finished"].every((k) => Number.isFinite(at(k)))) throw new Error(`OpStamps lacks a phase: ${JSON.stringify(s)}`);
  const reinventory = Number.isFinite(at("reinventory")) ? at("reinventory") : at("remove");
  return {
    startup: at("start") - began,
    probes: at("probe_download") - at("start"),
    probeData: at("probe_upload") - at("probe_download"),
    config: at("config_download") - at("probe_upload"),
    inventory: at("inventory") - at("config_download"),
    install: at("install") - at("inventory"),
    reinventory: reinventory - at("install"),
    end: ended - reinventory,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (out: string) => /Correct entries:\s+(\d+)\s+Incorrect entries:\s+(\d+)[\s\S]*?$/.exec(out.slice(out.lastIndexOf("Phase: final")));

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "vacfg-bench-agent-"));
  const env = { ...process.env, BCFG2_REF: REF };
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const ca = join(REF, "certs/ca.crt");
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
    const bundleDir = join(work, "agent-bundle");
    await bundleAgent(resolve(here, "../.."), bundleDir);
    const bundle = join(bundleDir, AGENT_ENTRY);
    const debian = await makeClientRootTemplate(join(work, "debian-template"), repo, REF, url, ca);
    // as /usr/sbin/vacfg-agent starts it (the compiled tree too, for a like-for-like no-change row)
    const agent = (main: string, root: string) => [process.execPath, ...AGENT_NODE_OPTIONS, main, "-S", url, "-u", "node0", "-x", "node0secret", "--ca", ca, "--root", root, "-v", "-q"];
    // The agent runs with the environment its systemd units give it, which has no NODE_EXTRA_CA_CERTS (node
    // parses that whole bundle: a shell here sets it to the system's 140-odd roots, about 55 ms of CPU) and
    // no SSL_CERT_FILE (which would make it parse that file instead of reading the system's certificate
    // directory lazily, agent/site-trust.ts). Python ignores both.
    const agentEnv: NodeJS.ProcessEnv = { ...process.env, [AGENT_CODE_CACHE_ENV]: join(work, "code-cache") };
    delete agentEnv.NODE_EXTRA_CA_CERTS;
    delete agentEnv.SSL_CERT_FILE;
    const uncachedEnv = { ...agentEnv, [AGENT_CODE_CACHE_ENV]: "off" };

    const t = {
      imageFirst: [] as number[],
      noChange: [] as number[],
      noChangeTree: [] as number[],
      dry: [] as number[],
      debianFirst: [] as number[],
      upstreamReal: [] as number[],
      chroot: [] as number[],
      debianFirstCpu: [] as number[],
      upstreamRealCpu: [] as number[],
      chrootCpu: [] as number[],
      aptAlone: [] as number[],
      aptAloneCpu: [] as number[],
      debianFirstUncached: [] as number[],
      debianFirstUncachedCpu: [] as number[],
      nodeStart: [] as number[],
      help: [] as number[],
      helpUncached: [] as number[],
    };
    /** Where each first run's time went, from its own stamps (ms). */
    const phases: Record<string, number>[] = [];
    const loadBefore = loadavg();
    let finals = { ours: "", upstream: "" };
    for (let i = 0; i < runs; i++) {
      const image = join(work, `image${i}`);
      makeBaseRoot(image, repo);
      addShell(image);
      t.imageFirst.push(timed("agent first run (image root)", agent(bundle, image), agentEnv).ms);
      t.noChange.push(timed("agent no-change run", agent(bundle, image), agentEnv).ms);
      t.noChangeTree.push(timed("agent no-change run (tree)", agent(TREE, image), agentEnv).ms);
      t.dry.push(timed("upstream dry run", [join(REF, "run-real-client.sh"), url, "node0", "node0secret"], { ...env, BCFG2_CA: ca }).ms);

      const ours = join(work, `debian-ours${i}`);
      const theirs = join(work, `debian-upstream${i}`);
      debian.copy(ours);
      debian.copy(theirs);
      const stats = join(work, `stats${i}.xml`);
      settled(ours);
      const began = Date.now();
      const o = timed("agent first run (Debian root)", [...agent(bundle, ours), "--stats-file", stats], agentEnv);
      const ended = Date.now();
      t.debianFirst.push(o.ms);
      t.debianFirstCpu.push(o.cpu);
      phases.push(runPhases(readFileSync(stats, "utf8"), began, ended));
      settled(theirs);
      const u = timed("upstream real run", upstreamClientArgv(theirs, ["-v", "-q", "-S", url, "-u", "node0", "-x", "node0secret"]));
      t.upstreamReal.push(u.ms);
      t.upstreamRealCpu.push(u.cpu);
      const c = timed("unshare+chroot /bin/true", inChroot(theirs, ["/bin/true"]));
      t.chroot.push(c.ms);
      t.chrootCpu.push(c.cpu);
      // the packages our run found missing (-v: "Package:deb:NAME: package not installed"), by apt-get alone
      const alone = join(work, `debian-apt${i}`);
      debian.copy(alone);
      // the same first run without the code cache, and the start-up alone, each beside the cached one
      const uncached = join(work, `debian-uncached${i}`);
      debian.copy(uncached);
      settled(uncached);
      const n = timed("agent first run (Debian root, no code cache)", agent(bundle, uncached), uncachedEnv);
      t.debianFirstUncached.push(n.ms);
      t.debianFirstUncachedCpu.push(n.cpu);
      for (let k = 0; k < 5; k++) {
        t.nodeStart.push(timed("node -e 0", [process.execPath, ...AGENT_NODE_OPTIONS, "-e", "0"], agentEnv).ms);
        t.help.push(timed("agent --help", [process.execPath, ...AGENT_NODE_OPTIONS, bundle, "--help"], agentEnv).ms);
        t.helpUncached.push(timed("agent --help, no code cache", [process.execPath, ...AGENT_NODE_OPTIONS, bundle, "--help"], uncachedEnv).ms);
      }
      const missing = [...o.out.matchAll(/^Package:deb:(\S+): package not installed$/gm)].map((m) => m[1]!);
      if (!missing.length) throw new Error(`no "Package:deb:NAME: package not installed" line in the agent's -v output:\n${o.out}`);
      const run = await new AptTool().changeArgv({ root: alone, exec: execCommand, log: quiet }, ["install", ...missing]);
      settled(alone);
      const a = timed("apt-get install alone", run.argv, { ...process.env, DEBIAN_FRONTEND: "noninteractive" });
      run.done();
      t.aptAlone.push(a.ms);
      t.aptAloneCpu.push(a.cpu);
      finals = { ours: o.out, upstream: u.out };
      for (const d of [image, ours, theirs, alone, uncached]) rmSync(d, { recursive: true, force: true });
    }
    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) as Record<keyof typeof t, number>;
    const state = (out: string) => {
      const s = summary(out);
      return s ? `${s[1]} correct, ${s[2]} incorrect` : "no final phase";
    };
    const f = (ms: number) => `${ms.toFixed(0).padStart(5)} ms`;
    console.log(`agent, Torque head node0 (lab repository, upstream Bcfg2 server over TLS, 26 entries), median of ${runs}:`);
    console.log(`  no-change run, vacfg agent (bundle):                                  ${f(m.noChange)}`);
    console.log(`  no-change run, vacfg agent (compiled tree, dist/agent/main.js):       ${f(m.noChangeTree)}`);
    console.log(`  upstream bcfg2 client dry run (-n -v -q -O), same configuration:      ${f(m.dry)}`);
    console.log(`  first run into a fresh Debian root (bookworm minbase + client deps):`);
    console.log(`    vacfg agent --root (apt-get chrooted, systemctl --root):            ${f(m.debianFirst)}   CPU ${f(m.debianFirstCpu)}   final: ${state(finals.ours)}`);
    const phase = (k: string) => median(phases.map((p) => p[k]!)).toFixed(0);
    console.log(`      where that run goes, by its statistics' OpStamps (median ms): start-up ${phase("startup")}, DeclareVersion + GetProbes ${phase("probes")}, probes + RecvProbeData ${phase("probeData")}, GetConfig ${phase("config")}, to the end of the inventory ${phase("inventory")}, installs ${phase("install")}, re-inventory ${phase("reinventory")}, fsyncs waited for + RecvStats + exit ${phase("end")}`);
    console.log(`    upstream bcfg2 client, real run (-v -q) chrooted into the root:     ${f(m.upstreamReal)}   CPU ${f(m.upstreamRealCpu)}   final: ${state(finals.upstream)}`);
    console.log(`      of which unshare + mounts + chroot (measured with /bin/true):     ${f(m.chroot)}   CPU ${f(m.chrootCpu)}`);
    console.log(`    the same packages by apt-get install alone (chrooted, as the agent): ${f(m.aptAlone)}   CPU ${f(m.aptAloneCpu)}`);
    console.log(`    vacfg agent without its code cache (the bundle compiled from source): ${f(m.debianFirstUncached)}   CPU ${f(m.debianFirstUncachedCpu)}`);
    console.log(`  start-up alone: node -e 0 ${f(m.nodeStart)}; vacfg-agent --help ${f(m.help)}, without the code cache ${f(m.helpUncached)}`);
    console.log(`  first run into a fresh minimal image root, vacfg agent:               ${f(m.imageFirst)}`);
    console.log(`  ratio upstream dry run / vacfg no-change run:                  ${(m.dry / m.noChange).toFixed(2)}x`);
    // upstream's real run less its unshare + mounts + chroot set-up, which the agent does not make
    const upstreamRun = m.upstreamReal - m.chroot;
    const upstreamRunCpu = m.upstreamRealCpu - m.chrootCpu;
    console.log(`  ratio upstream real run (less chroot set-up) / vacfg first run: ${(upstreamRun / m.debianFirst).toFixed(2)}x`);
    console.log(`  same, CPU time of every process of the run (user + system):     ${(upstreamRunCpu / m.debianFirstCpu).toFixed(2)}x`);
    console.log(`  code cache: first run without / with it ${(m.debianFirstUncached / m.debianFirst).toFixed(2)}x wall, ${(m.debianFirstUncachedCpu / m.debianFirstCpu).toFixed(2)}x CPU; bundle load (--help less node -e 0) ${f(m.helpUncached - m.nodeStart)} -> ${f(m.help - m.nodeStart)}`);
    console.log(`  bound on that ratio were everything but apt-get free (upstream real run / apt-get alone): ${(upstreamRun / m.aptAlone).toFixed(2)}x wall, ${(upstreamRunCpu / m.aptAloneCpu).toFixed(2)}x CPU`);
    // what each client spends beside the apt-get/dpkg work both do alike (apt-get alone stands for it)
    const ownUpstream = upstreamRun - m.aptAlone;
    const ownVacfg = m.debianFirst - m.aptAlone;
    console.log(`  the clients' own work, each first run less apt-get alone: upstream ${f(ownUpstream)}, vacfg ${f(ownVacfg)}: ${(ownUpstream / ownVacfg).toFixed(2)}x`);
    if (process.env.NODE_EXTRA_CA_CERTS || process.env.SSL_CERT_FILE) console.log(`  (the agent ran without this shell's NODE_EXTRA_CA_CERTS and SSL_CERT_FILE, as under its systemd units)`);
    console.log(`  load average: ${loadBefore} before, ${loadavg()} after (2 cores: wall times above stretch with it, CPU times much less)`);
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
