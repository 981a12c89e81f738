// Running host tools (xl, qemu-img, ip, apt-get, debugfs, a probe, ...) as child processes, never
// through a shell: collected output, a timeout, and failures turned into catalogue errors that quote
// the tool's own message. Asynchronous (runTool, runChecked) and, for the synchronous image and
// seed builders, synchronous (runToolSync, runCheckedSync) with the same results and errors.
import { spawn, spawnSync } from "node:child_process";
import { VacfgError, type ErrorCode } from "../protocol/errors.js";

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed because timeoutMs passed. */
  timedOut: boolean;
}

export interface ToolOptions {
  timeoutMs?: number;
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each chunk of stderr+stdout, for progress output of long builds. */
  onOutput?: (chunk: string) => void;
  /**
   * A pipe the tool reads as descriptor `fd` (3-9): `text` is written to it when it resolves, then
   * it is closed. The tool sees end-of-file without the text if this process dies first.
   */
  later?: { fd: number; text: Promise<string> };
}

/** Runs a tool and resolves with its result whatever the exit status; rejects only when it cannot start. */
export function runTool(cmd: string, args: readonly string[], opts: ToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const extra: ("pipe" | "ignore")[] = [];
    if (opts.later) for (let fd = 3; fd <= opts.later.fd; fd++) extra.push(fd === opts.later.fd ? "pipe" : "ignore");
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe", ...extra] as ["pipe", "pipe", "pipe"] });
    if (opts.later) {
      const pipe = child.stdio[opts.later.fd] as NodeJS.WritableStream;
      pipe.on("error", () => { /* the tool exited without reading it */ });
      void opts.later.text.then((t) => pipe.end(t), () => pipe.end());
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (opts.timeoutMs) timer = setTimeout(() => { timedOut = true; child.kill("SIGKILL"); }, opts.timeoutMs);
    child.stdout.on("data", (b: Buffer) => { out.push(b); opts.onOutput?.(b.toString()); });
    child.stderr.on("data", (b: Buffer) => { err.push(b); opts.onOutput?.(b.toString()); });
    child.on("error", (e) => { if (timer) clearTimeout(timer); reject(e); });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut });
    });
    child.stdin.on("error", () => { /* tool exited before reading its input: its exit status tells */ });
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs a tool and throws a catalogue error (default VM) unless it exits 0. */
export async function runChecked(cmd: string, args: readonly string[], opts: ToolOptions & { code?: ErrorCode } = {}): Promise<string> {
  let r: ToolResult;
  try {
    r = await runTool(cmd, args, opts);
  } catch (e) {
    throw new VacfgError(opts.code ?? "VM", `${cmd}: cannot run: ${(e as Error).message}`, { cause: e });
  }
  if (r.code !== 0) throw failure(cmd, args, r, opts.code ?? "VM");
  return r.stdout;
}

/** The error for a tool that exited non-zero: the command (shortened) and the end of its own message. */
function failure(cmd: string, args: readonly string[], r: ToolResult, code: ErrorCode): VacfgError {
  const why = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-6).join(" | ");
  const argv = args.join(" ");
  // Long argv (a whole QEMU command line) would drown the tool's own message.
  const shown = argv.length > 160 ? `${argv.slice(0, 80)} … ${argv.slice(-60)}` : argv;
  return new VacfgError(code, `${cmd} ${shown}: exit ${r.code ?? r.signal}: ${why}`);
}

export interface SyncToolOptions {
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Largest output kept (default 64 MiB; debugfs dumps whole files to stdout). */
  maxBuffer?: number;
}

/** runTool, synchronously; stdout as bytes too (debugfs dumps binary files). Throws only when the tool cannot start. */
export function runToolSync(cmd: string, args: readonly string[], opts: SyncToolOptions = {}): ToolResult & { stdoutBytes: Buffer } {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, input: opts.input ?? "", maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return {
    code: r.status,
    signal: r.signal,
    stdout: r.stdout.toString("utf8"),
    stdoutBytes: r.stdout,
    stderr: r.stderr.toString("utf8"),
    timedOut: false,
  };
}

/** runChecked, synchronously: stdout, or a catalogue error (default VM) quoting the tool. */
export function runCheckedSync(cmd: string, args: readonly string[], opts: SyncToolOptions & { code?: ErrorCode } = {}): string {
  let r: ToolResult;
  try {
    r = runToolSync(cmd, args, opts);
  } catch (e) {
    throw new VacfgError(opts.code ?? "VM", `${cmd}: cannot run: ${(e as Error).message}`, { cause: e });
  }
  if (r.code !== 0) throw failure(cmd, args, r, opts.code ?? "VM");
  return r.stdout;
}
