// The "Trigger" plugin (upstream Server/Plugins/Trigger.py): after each configuration a client is
// sent, every script in Trigger/ runs on the server as `SCRIPT CLIENT -p PROFILE -g GROUP:GROUP…`,
// in the background: the client's run never waits for it. A script that fails (or cannot start) is
// logged as an error with what it wrote on stderr.
import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { join, relative } from "node:path";
import { DirCache } from "../core/file-cache.js";
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { ClientMetadata } from "../core/metadata.js";
import type { AnyPlugin, ClientRunHooksRole } from "../core/roles.js";
import { isIgnoredName } from "./shared/ignored-names.js";

/** Scripts running at once; more wait their turn (upstream forks without bound). */
const MAX_RUNNING = 16;
/** What is kept of a script's stderr for the log. */
const STDERR_KEEP = 4096;

export class TriggerPlugin implements AnyPlugin, ClientRunHooksRole {
  readonly name = "Trigger";
  private readonly dir: string;
  private readonly dirs = new DirCache();
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Runs not finished yet (tests and shutdown can wait for them). */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly ctx: PluginContext) {
    this.dir = join(ctx.settings.repo, "Trigger");
  }

  /** Every file below Trigger/ (subdirectories too, as upstream's DirectoryBacked), sorted. */
  scripts(): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const n of this.dirs.list(dir)) {
        if (isIgnoredName(n)) continue;
        const p = join(dir, n);
        let st;
        try {
          st = statSync(p);
        } catch {
          continue;
        }
        if (st.isDirectory()) walk(p);
        else out.push(p);
      }
    };
    walk(this.dir);
    return out.sort();
  }

  endClientRun(meta: ClientMetadata): void {
    // Upstream joins a Python set (hash order); vacfg sorts the groups.
    const args = [meta.hostname, "-p", meta.profile, "-g", [...meta.groups].sort().join(":")];
    for (const script of this.scripts()) {
      const run = this.run(script, args).finally(() => this.pending.delete(run));
      this.pending.add(run);
    }
  }

  /** Resolves when every trigger started so far has finished. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  private async run(script: string, args: string[]): Promise<void> {
    if (this.running >= MAX_RUNNING) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    const name = relative(this.ctx.settings.repo, script);
    const log = this.ctx.logger;
    try {
      await new Promise<void>((resolve) => {
        let stderr = "";
        const child = spawn(script, args, { stdio: ["ignore", "ignore", "pipe"] });
        child.stderr.on("data", (b: Buffer) => {
          if (stderr.length < STDERR_KEEP) stderr += b.toString().slice(0, STDERR_KEEP - stderr.length);
        });
        child.on("error", (e) => {
          log.error({ trigger: name, client: args[0] }, `Trigger: Error running ${name}: ${e.message}`);
          resolve();
        });
        child.on("close", (code, signal) => {
          if (code !== 0) log.error({ trigger: name, client: args[0], code, signal }, `Trigger: Error running ${name}: exit ${code ?? signal}: ${stderr.trim()}`);
          else if (stderr.trim()) log.debug({ trigger: name, client: args[0] }, `Trigger: ${name}: ${stderr.trim()}`);
          resolve();
        });
      });
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

export const triggerPlugin: PluginFactory = (ctx) => new TriggerPlugin(ctx);
