// A minimal QMP (QEMU Machine Protocol) client over a unix socket: greeting, capability
// negotiation, then commands matched to their replies by id; asynchronous events are kept.
import { createConnection, type Socket } from "node:net";
import { VacfgError } from "../../protocol/errors.js";

export interface QmpEvent {
  event: string;
  data?: unknown;
  timestamp?: { seconds: number; microseconds: number };
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class QmpClient {
  readonly events: QmpEvent[] = [];
  private buffer = "";
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private greeting?: (v: unknown) => void;
  private closed = false;

  private constructor(private readonly socket: Socket, private readonly path: string) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("close", () => this.fail(new VacfgError("VM", `QMP ${path}: connection closed`)));
    socket.on("error", (e) => this.fail(new VacfgError("VM", `QMP ${path}: ${e.message}`, { cause: e })));
  }

  /** Connects, reads the greeting and leaves capability-negotiation mode. */
  static async connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    const socket = createConnection(path);
    const client = new QmpClient(socket, path);
    const timer = setTimeout(() => socket.destroy(new Error(`no QMP greeting within ${timeoutMs} ms`)), timeoutMs);
    try {
      await new Promise<unknown>((resolve, reject) => {
        client.greeting = resolve;
        client.pending.set("greeting", { resolve, reject });
      });
      await client.execute("qmp_capabilities");
      return client;
    } catch (e) {
      client.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new VacfgError("VM", `QMP ${this.path}: connection closed`));
    const id = String(this.nextId++);
    const msg = JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id });
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(msg + "\n");
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // QEMU only writes JSON; a torn line cannot be answered anyway
    }
    if ("QMP" in msg && this.greeting) {
      this.pending.delete("greeting");
      this.greeting(msg.QMP);
      this.greeting = undefined;
    } else if ("event" in msg) {
      this.events.push(msg as unknown as QmpEvent);
    } else if ("id" in msg) {
      const p = this.pending.get(String(msg.id));
      if (!p) return;
      this.pending.delete(String(msg.id));
      if ("error" in msg) {
        const err = msg.error as { class?: string; desc?: string };
        p.reject(new VacfgError("VM", `QMP ${this.path}: ${err.class ?? "Error"}: ${err.desc ?? "command failed"}`));
      } else {
        p.resolve(msg.return);
      }
    }
  }

  private fail(e: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/** One command on a fresh connection: QEMU serves one QMP client per socket at a time. */
export async function qmpOnce<T = unknown>(path: string, command: string, args?: Record<string, unknown>, timeoutMs = 5000): Promise<T> {
  const client = await QmpClient.connect(path, timeoutMs);
  try {
    return await withTimeout(client.execute<T>(command, args), timeoutMs, `QMP ${command}`);
  } finally {
    client.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new VacfgError("VM", `${what}: no answer within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e as Error); });
  });
}
