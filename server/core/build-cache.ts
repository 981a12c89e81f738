// Finished GetConfig answers, reused while nothing they were built from changed: the repository
// (its change generation), the client's metadata (probe data, parameters, profile, groups...: its
// fingerprint) and whatever else the generators recorded (build-inputs.ts). Bounded by bytes,
// least recently used first out.
import { buildInputsOf, fingerprint, type BuildInput } from "./build-inputs.js";
import type { ClientMetadata } from "./metadata.js";
import type { RepoWatcher } from "./repo-watch.js";

interface Built {
  generation: number;
  metaKey: string;
  inputs: BuildInput[];
  body: string;
}

/** A build in progress: what it was keyed on when it started. */
export interface BuildTicket {
  generation: number;
  metaKey: string;
}

/** What an entry costs in memory, roughly: the answer and the metadata fingerprint it is keyed on. */
function sizeOf(ticket: BuildTicket, body: string): number {
  return body.length + ticket.metaKey.length;
}

export class BuildCache {
  private readonly built = new Map<string, Built>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly watcher: RepoWatcher,
    private readonly maxBytes = 32 * 1024 * 1024,
  ) {}

  /** Call before reading anything for a build: every repository change made before now is then counted. */
  async begin(): Promise<number | undefined> {
    if (!this.watcher.reliable || !this.watcher.ready) return undefined;
    await this.watcher.settle();
    return this.watcher.reliable ? this.watcher.generation : undefined;
  }

  /** The cached answer for this client if nothing it depends on changed, else a ticket to store the new build with. */
  async lookup(meta: ClientMetadata, generation: number | undefined): Promise<{ body: string } | { ticket?: BuildTicket }> {
    if (generation === undefined) return {};
    let metaKey: string;
    try {
      metaKey = fingerprint(meta);
    } catch {
      return {};
    }
    const hit = this.built.get(meta.hostname);
    if (hit && hit.generation === generation && hit.metaKey === metaKey && (await this.inputsUnchanged(hit.inputs))) {
      this.built.delete(meta.hostname); // most recently used last
      this.built.set(meta.hostname, hit);
      this.hits++;
      return { body: hit.body };
    }
    this.misses++;
    return { ticket: { generation, metaKey } };
  }

  /** Keeps a finished build (not one with failed entries: a failure may be passing). */
  store(meta: ClientMetadata, ticket: BuildTicket, body: string, failed: boolean): void {
    const { inputs, uncacheable } = buildInputsOf(meta);
    this.drop(meta.hostname);
    if (failed || uncacheable !== undefined || sizeOf(ticket, body) > this.maxBytes / 4) return;
    this.built.set(meta.hostname, { ...ticket, inputs, body });
    this.bytes += sizeOf(ticket, body);
    for (const [name, b] of this.built) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(name, b);
    }
  }

  clear(): void {
    this.built.clear();
    this.bytes = 0;
  }

  private drop(name: string, b = this.built.get(name)): void {
    if (!b) return;
    this.built.delete(name);
    this.bytes -= sizeOf(b, b.body);
  }

  private async inputsUnchanged(inputs: BuildInput[]): Promise<boolean> {
    for (const i of inputs) {
      try {
        if ((await i.read()) !== i.value) return false;
      } catch {
        return false;
      }
    }
    return true;
  }
}
