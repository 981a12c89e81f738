// Starts a real, throwaway PostgreSQL from Debian's binaries for tests and benchmarks
// (initdb into a temp dir, 127.0.0.1 on a free port, socket in the temp dir).
import { execFile as execFileCb, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./free-port.js";

const execFile = promisify(execFileCb);

export interface PostgresServer {
  /** URL of a database created for this caller. */
  url: string;
  /** Creates another empty database on the same server and returns its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Keep fsync on (the durability check); otherwise fsync is off for a fast start. */
  durable?: boolean;
}

/** Newest Debian PostgreSQL bin directory, or undefined when the package is not installed. */
export function findPostgresBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")) && existsSync(join(root, v, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], "bin") : undefined;
}

const asRoot = userInfo().uid === 0;

/** PostgreSQL refuses to run as root: as root, run its tools as the Debian `postgres` user. */
async function runPg(bin: string, tool: string, args: string[]): Promise<string> {
  const [cmd, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]] : [join(bin, tool), args];
  try {
    const { stdout } = await execFile(cmd, argv, { maxBuffer: 16 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${tool} failed: ${err.stderr || err.message}`);
  }
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin) throw new Error("PostgreSQL is not installed (apt-get install postgresql; see test/setup/debian-packages.txt)");
  await reapOrphans(bin);
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  const data = join(dir, "data");
  await writeFile(join(dir, "owner.pid"), String(process.pid));
  if (asRoot) {
    const { uid, gid } = postgresUser();
    await chown(dir, uid, gid);
  }
  let started = false;
  try {
    await runPg(bin, "initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
    const settings = [
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${dir}`,
      "-c max_connections=200",
      "-c shared_buffers=32MB",
      ...(options.durable ? [] : ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]),
    ];
    let port = 0;
    // A port found free can be taken before postgres binds it; try a few.
    for (let attempt = 0; !started; attempt++) {
      port = await freePort();
      try {
        await runPg(bin, "pg_ctl", ["-D", data, "-w", "-t", "60", "-l", join(dir, "log"), "-o", [`-p ${port}`, ...settings].join(" "), "start"]);
        started = true;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
    const base = `postgres://postgres@127.0.0.1:${port}`;
    let n = 0;
    const createDatabase = async (): Promise<string> => {
      const name = `vacfg_${process.pid}_${++n}`;
      const c = new pg.Client({ connectionString: `${base}/postgres` });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `${base}/${name}`;
    };
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      process.off("exit", stopNow);
      for (const sig of SIGNALS) process.off(sig, onSignal);
      await runPg(bin, "pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    };
    // If the test process dies first, still take the server and its files down with it.
    const stopNow = (): void => {
      if (stopped) return;
      stopped = true;
      const argv = ["-D", data, "-m", "immediate", "-w", "stop"];
      const pgCtl = join(bin, "pg_ctl");
      spawnSync(asRoot ? "runuser" : pgCtl, asRoot ? ["-u", "postgres", "--", pgCtl, ...argv] : argv);
      spawnSync("rm", ["-rf", dir]);
    };
    // A signal skips "exit" handlers: stop the server, then die of the signal as the default would.
    const onSignal = (sig: NodeJS.Signals): void => {
      stopNow();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on("exit", stopNow);
    for (const sig of SIGNALS) process.once(sig, onSignal);
    return { url: await createDatabase(), createDatabase, stop };
  } catch (e) {
    if (started) await runPg(bin, "pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

const DIR_PREFIX = "vacfg-pg-";
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Stops and removes servers left by test processes that were SIGKILLed (their exit handlers never ran). */
async function reapOrphans(bin: string): Promise<void> {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(DIR_PREFIX))) {
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, "owner.pid"), "utf8"));
    } catch {
      continue; // being created right now, or not ours
    }
    if (!owner || alive(owner)) continue;
    if (existsSync(join(dir, "data", "postmaster.pid"))) {
      await runPg(bin, "pg_ctl", ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"]).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

function postgresUser(): { uid: number; gid: number } {
  const r = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (r.status !== 0 || g.status !== 0) throw new Error("running as root but there is no `postgres` system user");
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

let shared: Promise<PostgresServer> | undefined;

/** One server per test process (stopped when the process exits); callers createDatabase() for isolation. */
export function sharedPostgres(): Promise<PostgresServer> {
  shared ??= startPostgres();
  return shared;
}
