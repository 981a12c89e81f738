// The real upstream Bcfg2 server and client from shared/bcfg2-ref, as test peers:
// installs the kit when missing (as root), starts a server on a free port, runs the real client.
import { execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { bcfg2RefInstall, bcfg2RefKit, projectRoot } from "./paths.js";
import { freePort } from "../../harness/free-port.js";

export { freePort };

const run = promisify(execFile);

/** True when the upstream reference is installed (or could be installed now). */
export function ensureUpstreamInstalled(): boolean {
  if (existsSync(join(bcfg2RefInstall, "src/src/lib/Bcfg2"))) return true;
  if (!existsSync(join(bcfg2RefKit, "setup.sh")) || process.getuid?.() !== 0) return false;
  const r = spawnSync("bash", [join(bcfg2RefKit, "setup.sh"), bcfg2RefInstall], { stdio: "inherit" });
  return r.status === 0;
}

export interface UpstreamServer {
  url: string;
  port: number;
  /** The installation serving it (the kit's, or the lab-patched copy). */
  dest: string;
  /** The repository copy it serves (it writes generated files there). */
  repo: string;
  /** The bcfg2.conf it runs with (for bcfg2-admin on the same repository and database). */
  config: string;
  stop(): Promise<void>;
}

export interface UpstreamOptions {
  /** INI text appended to the kit's generated bcfg2.conf (e.g. [encryption], [sslca_default]). */
  extraConfig?: string;
  /** Serve from the copy with vacfg's lab patches (test/support/bcfg2-ref-patches), see labPatchedUpstream. */
  labPatched?: boolean;
  /** The lab-patched copy with Debian's Django inside (upstream's Reporting plugin), see labPatchedUpstreamWithDjango. */
  django?: boolean;
}

/**
 * Starts the real bcfg2-server on a copy of `repo` (never modified) on a free port. `extraPlugins`
 * (e.g. GroupPatterns) are appended to the kit's fixed `[server] plugins` and `extraConfig` to its
 * configuration: the kit writes its config at start, so the server is started once for that config,
 * stopped, and restarted with an edited copy given as a later `-C` (argparse keeps the last).
 */
export async function startUpstreamServer(repo: string, password = "labsecret", extraPlugins: string[] = [], opts: UpstreamOptions = {}): Promise<UpstreamServer> {
  if (!ensureUpstreamInstalled()) throw new Error(`upstream Bcfg2 is not installed at ${bcfg2RefInstall} (run ${bcfg2RefKit}/setup.sh)`);
  const dest = opts.django ? labPatchedUpstreamWithDjango() : opts.labPatched ? labPatchedUpstream() : bcfg2RefInstall;
  const env = { ...process.env, BCFG2_REF: dest };
  // A port found free can be taken before the server binds it (a second later): try another then.
  let port = 0;
  let args: string[] = [];
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    args = ["--repo", repo, "--port", String(port), "--password", password];
    // The kit keeps a port's state (its SQLite database: Reporting's runs) in run/PORT across starts:
    // an earlier server on this port, in this run of the suite or a former one, must leave nothing.
    rmSync(join(dest, "run", String(port)), { recursive: true, force: true });
    try {
      await run(join(dest, "start-server.sh"), args, { env });
      break;
    } catch (e) {
      if (attempt === 3 || !/in use/i.test(String((e as { stderr?: string }).stderr))) throw e;
    }
  }
  const stop = async () => {
    await run(join(dest, "stop-server.sh"), ["--port", String(port)], { env }).catch(() => undefined);
  };
  const runDir = join(dest, "run", String(port));
  let config = join(runDir, "bcfg2-server.conf");
  if (extraPlugins.length || opts.extraConfig) {
    await stop();
    const conf = readFileSync(join(runDir, "bcfg2-server.conf"), "utf8").replace(/^plugins = (.*)$/m, (_l, list: string) => `plugins = ${[list, ...extraPlugins].join(",")}`);
    const edited = join(runDir, "bcfg2-server-plugins.conf");
    writeFileSync(edited, opts.extraConfig ? mergeIni(conf, opts.extraConfig) : conf);
    await run(join(dest, "start-server.sh"), [...args, "-C", edited], { env });
    config = edited;
  }
  return { url: `https://127.0.0.1:${port}`, port, dest, repo: join(runDir, "repo"), config, stop };
}

/**
 * `extra`'s sections merged into `conf`: keys of a section `conf` has replace or join it there
 * (Python's ConfigParser refuses a section or key given twice), new sections are appended.
 */
export function mergeIni(conf: string, extra: string): string {
  const lines = conf.split("\n");
  let section = "";
  for (const raw of extra.split("\n")) {
    const head = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (head) {
      section = head[1]!;
      if (!lines.some((l) => l.trim() === `[${section}]`)) lines.push("", `[${section}]`);
      continue;
    }
    const kv = /^([^=:\s][^=:]*?)\s*[=:]/.exec(raw);
    if (!kv || !section) continue;
    const start = lines.findIndex((l) => l.trim() === `[${section}]`);
    let end = lines.findIndex((l, i) => i > start && /^\[/.test(l));
    if (end < 0) end = lines.length;
    const at = lines.findIndex((l, i) => i > start && i < end && new RegExp(`^${kv[1]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*[=:]`, "i").test(l));
    if (at >= 0) lines[at] = raw;
    else lines.splice(start + 1, 0, raw);
  }
  return lines.join("\n") + "\n";
}

/**
 * The kit's installation with vacfg's lab patches applied (test/support/bcfg2-ref-patches/*.diff:
 * Python 3 fixes where upstream cannot run at all, like the kit's own patches). Built once per patch
 * set beside the kit's installation (scripts, certificates and source copied, then patched), and
 * reused; the kit's own installation is never modified.
 */
export function labPatchedUpstream(): string {
  const patchDir = join(projectRoot, "test/support/bcfg2-ref-patches");
  const patches = readdirSync(patchDir).filter((f) => f.endsWith(".diff")).sort();
  const hash = createHash("sha256");
  hash.update(readFileSync(join(bcfg2RefInstall, "src/.kit-stamp")));
  for (const p of patches) hash.update(readFileSync(join(patchDir, p)));
  const dest = `${bcfg2RefInstall}-lab-${hash.digest("hex").slice(0, 12)}`;
  if (existsSync(join(dest, ".complete"))) return dest;
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "run"), { recursive: true });
  for (const f of readdirSync(bcfg2RefInstall)) {
    if (["src", "certs", "tools"].includes(f) || f.endsWith(".sh") || f.endsWith(".py")) cpSync(join(bcfg2RefInstall, f), join(tmp, f), { recursive: true, preserveTimestamps: true });
  }
  for (const p of patches) execFileSync("patch", ["-d", join(tmp, "src"), "-p1", "--forward", "--quiet", "-i", join(patchDir, p)]);
  writeFileSync(join(tmp, ".complete"), patches.join("\n") + "\n");
  try {
    renameSync(tmp, dest);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another test process made it first
  }
  return dest;
}

/**
 * The lab-patched copy with Debian bookworm's Django 3.2 in its own library directory, for upstream's
 * Reporting plugin (bcfg2-admin pull's PullSource). Django is never installed system-wide: the kit's
 * server takes another path (Django-backed Metadata) as soon as it can import Django. The package is
 * fetched with `apt-get download` and unpacked with dpkg-deb; its dependencies (python3-asgiref,
 * python3-sqlparse, python3-tz) are in test/setup/debian-packages.txt.
 */
export function labPatchedUpstreamWithDjango(): string {
  const base = labPatchedUpstream();
  const dest = `${base}-django`;
  if (existsSync(join(dest, ".complete"))) return dest;
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  cpSync(base, tmp, { recursive: true, preserveTimestamps: true });
  rmSync(join(tmp, "run"), { recursive: true, force: true });
  mkdirSync(join(tmp, "run"));
  const debs = join(tmp, "debs");
  mkdirSync(debs);
  execFileSync("apt-get", ["download", "python3-django"], { cwd: debs, stdio: "ignore" });
  const deb = readdirSync(debs).find((f) => f.startsWith("python3-django_") && f.endsWith(".deb"));
  if (!deb) throw new Error("apt-get download python3-django fetched nothing");
  execFileSync("dpkg-deb", ["-x", join(debs, deb), join(debs, "x")]);
  cpSync(join(debs, "x/usr/lib/python3/dist-packages/django"), join(tmp, "src/src/lib/django"), { recursive: true });
  rmSync(debs, { recursive: true, force: true });
  writeFileSync(join(tmp, ".complete"), `${deb}\n`);
  try {
    renameSync(tmp, dest);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another test process made it first
  }
  return dest;
}

/**
 * Runs upstream's `bcfg2-admin` of an installation with a server's bcfg2.conf. Each of `answers` is
 * typed after a prompt ("[yN]: ") appears: its safe_input empties stdin before asking (and spins on a
 * closed stdin), so answers cannot be piped ahead.
 */
export function upstreamAdmin(server: UpstreamServer, args: string[], answers: string[] = []): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("/usr/bin/python3", [join(server.dest, "src/src/sbin/bcfg2-admin"), "-C", server.config, ...args], {
      cwd: join(server.dest, "src/src"),
      env: { ...process.env, PYTHONPATH: join(server.dest, "src/src/lib") },
    });
    let stdout = "";
    let stderr = "";
    let answered = 0;
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.stdout.on("data", (c) => {
      stdout += c;
      const prompts = stdout.split("[yN]: ").length - 1;
      while (answered < prompts && answered < answers.length) child.stdin.write(`${answers[answered++]}\n`);
    });
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
  });
}

/** Runs the lab-patched upstream `bcfg2-crypt` with the given bcfg2.conf; resolves with its output, rejects on a non-zero exit. */
export async function upstreamCrypt(config: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const dest = labPatchedUpstream();
  return run("/usr/bin/python3", [join(dest, "src/src/sbin/bcfg2-crypt"), "-C", config, ...args], {
    env: { ...process.env, PYTHONPATH: join(dest, "src/src/lib") },
    encoding: "utf8",
  });
}

/**
 * Calls one method through the kit's xmlrpc-call.py (Python's own xmlrpc.client). Asynchronous,
 * so a vacfg server in the same process keeps answering while Python waits.
 */
export async function upstreamCall(url: string, client: string, password: string, method: string, ...args: string[]): Promise<string> {
  const r = await run("/usr/bin/python3", [join(bcfg2RefInstall, "xmlrpc-call.py"), url, client, password, method, ...args], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return r.stdout;
}

export interface RealClientRun {
  status: number;
  output: string;
}

/** Runs the real upstream `bcfg2` client (dry run) against a server; `env` reaches the probes it runs. */
export async function runRealClient(url: string, client: string, password: string, args: string[] = [], env: Record<string, string> = {}): Promise<RealClientRun> {
  try {
    const r = await run(join(bcfg2RefInstall, "run-real-client.sh"), [url, client, password, ...args], {
      env: { ...process.env, ...env, BCFG2_REF: bcfg2RefInstall, BCFG2_CA: "" },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: 0, output: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof err.code === "number" ? err.code : 1, output: (err.stdout ?? "") + (err.stderr ?? "") };
  }
}
