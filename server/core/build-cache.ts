// Finished GetConfig answers, reused while nothing they were built from changed: the repository
// (its change generation), the client's metadata (probe data, parameters, profile, groups...: its
// fingerprint) and whatever else the generators recorded (build-inputs.ts). Bounded by bytes,
// least recently used first out.
//
// Two ways to a hit. While neither the repository generation nor the store's metadata version
// (Store.metadataVersion: registrations and probe data, any process) moved since the answer was
// built, the client's metadata is what it was: the answer is reused without building metadata at
// all (`reuse`). Otherwise the metadata is built and compared by fingerprint (`lookup`): another
// client's probe data moves the version without changing this client's metadata.
import { buildInputsOf, fingerprint, type BuildInput } from "./build-inputs.js";
import { heapBytes, stringBytes } from "./heap-bytes.js";
import type { ClientMetadata } from "./metadata.js";
import type { RepoWatcher } from "./repo-watch.js";

/** What everything read for a build is vouched for by, taken before anything is read. */
export interface BuildKey {
  generation: number;
  /** Store.metadataVersion(); undefined when it could not be read (then only `lookup` can hit). */
  storeVersion?: number;
}

interface Built extends BuildKey {
  /** The name the client asked under (the answer is reused for that name only). */
  asked: string;
  meta: ClientMetadata;
  metaKey: string;
  inputs: BuildInput[];
  body: string;
  /** What the entry holds in the heap (sizeOf), counted against the bound. */
  bytes: number;
}

/** A reused answer, with the metadata it was built for (for the end-of-run hooks). */
export interface Reused {
  body: string;
  meta: ClientMetadata;
}

/** A build in progress: what it was keyed on when it started. */
export interface BuildTicket extends BuildKey {
  asked: string;
  metaKey: string;
}

/** The bookkeeping of one entry beside what it holds (the entry object, its map slot, with room to spare: the test measures what clearing frees), and of one recorded input (object, closure). */
const ENTRY_OVERHEAD = 512;
const INPUT_OVERHEAD = 96;

/**
 * What an entry holds in the heap: the answer, the metadata fingerprint, the metadata itself (kept for
 * the end-of-run hooks; its Sets and Maps weigh more than the answer for small configurations), the
 * inputs it records and the objects around them. Left out, the bound would not hold (measured: twice
 * over with 100,000 clients of small configurations).
 */
function sizeOf(ticket: BuildTicket, meta: ClientMetadata, body: string, inputs: BuildInput[]): number {
  return ENTRY_OVERHEAD + stringBytes(body) + stringBytes(ticket.metaKey) + heapBytes(meta) + inputs.reduce((n, i) => n + INPUT_OVERHEAD + stringBytes(i.value), 0);
}

/**
 * The metadata as the end-of-run hooks need it, without what the build hung on the object it built
 * from (metadata.query snapshots and per-build memos are kept in WeakMaps keyed by it: about as much
 * again as the entry, or every client's metadata).
 */
const detached = (meta: ClientMetadata): ClientMetadata => ({ ...meta });

export class BuildCache {
  private readonly built = new Map<string, Built>();
  /** The entry last in `built` (most recently used), which a hit need not move. */
  private newest?: Built;
  private bytes = 0;
  hits = 0;
  /** Hits answered without building the client's metadata (a subset of `hits`). */
  metadataSkipped = 0;
  misses = 0;

  /** Entries kept and the heap bytes they hold, estimated on the high side (never above the bound given). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.built.size, bytes: this.bytes };
  }

  constructor(
    private readonly watcher: RepoWatcher,
    private readonly storeVersion: () => Promise<number>,
    private readonly maxBytes = 32 * 1024 * 1024,
    /** storeVersion without waiting, when the store can (Store.metadataVersionNow). */
    private readonly storeVersionNow?: () => number | undefined,
  ) {}

  /**
   * Call before reading anything for a build: every change made before now is then counted.
   * `settled`: the caller's request already waited for the repository's changes (beginRequest), so
   * the current generation counts every change made before it arrived.
   */
  async begin(settled = false): Promise<BuildKey | undefined> {
    if (!this.watcher.reliable || !this.watcher.ready) return undefined;
    let storeVersion: number | undefined;
    if (settled) storeVersion = await this.storeVersion().catch(() => undefined);
    else [storeVersion] = await Promise.all([this.storeVersion().catch(() => undefined), this.watcher.settle()]);
    if (!this.watcher.reliable) return undefined;
    // The generation after settling: every repository change made before the request is counted in it.
    return { generation: this.watcher.generation, storeVersion };
  }

  /**
   * The answer for `client` when neither the repository nor the store's metadata moved since it was
   * built (so the client's metadata is the same) and every input recorded from elsewhere is unchanged;
   * with its metadata, for the end-of-run hooks.
   */
  async reuse(client: string, key: BuildKey | undefined): Promise<Reused | undefined> {
    const hit = this.sameAsBuilt(client, key);
    if (!hit || !(await this.inputsUnchanged(hit.inputs, true))) return undefined;
    return this.reused(hit);
  }

  /**
   * `begin(true)` and `reuse` at once without waiting, for a request that settled the repository: the
   * answer when the store says its version synchronously and every input the build recorded is
   * derived from the repository and the store alone; otherwise undefined (the caller takes the long way).
   */
  reuseNow(client: string): Reused | undefined {
    if (!this.watcher.reliable || !this.watcher.ready || this.storeVersionNow === undefined) return undefined;
    const hit = this.built.get(client);
    if (!hit || hit.inputs.some((i) => !i.fromRepositoryAndStore)) return undefined;
    const storeVersion = this.storeVersionNow();
    return storeVersion !== undefined && this.sameAsBuilt(client, { generation: this.watcher.generation, storeVersion }) ? this.reused(hit) : undefined;
  }

  /** The entry built for `client` at `key` (so the client's metadata is what it was), before its other inputs are checked. */
  private sameAsBuilt(client: string, key: BuildKey | undefined): Built | undefined {
    if (key?.storeVersion === undefined) return undefined;
    const hit = this.built.get(client);
    return hit && hit.asked === client && hit.generation === key.generation && hit.storeVersion === key.storeVersion ? hit : undefined;
  }

  private reused(hit: Built): Built {
    this.touch(hit);
    this.hits++;
    this.metadataSkipped++;
    return hit;
  }

  /** The cached answer for this client if nothing it depends on changed, else a ticket to store the new build with. */
  async lookup(meta: ClientMetadata, key: BuildKey | undefined, asked: string): Promise<{ body: string } | { ticket?: BuildTicket }> {
    if (key === undefined) return {};
    let metaKey: string;
    try {
      metaKey = fingerprint(meta);
    } catch {
      return {};
    }
    const hit = this.built.get(meta.hostname);
    if (hit && hit.generation === key.generation && hit.metaKey === metaKey && (await this.inputsUnchanged(hit.inputs, false))) {
      // Vouched for again as of this key: the next call can skip the metadata.
      hit.storeVersion = key.storeVersion;
      hit.asked = asked;
      hit.meta = detached(meta);
      this.touch(hit);
      this.hits++;
      return { body: hit.body };
    }
    this.misses++;
    return { ticket: { ...key, asked, metaKey } };
  }

  /** Keeps a finished build (not one with failed entries: a failure may be passing). */
  store(meta: ClientMetadata, ticket: BuildTicket, body: string, failed: boolean): void {
    const { inputs, uncacheable } = buildInputsOf(meta);
    // An answer built again the same keeps the string object it had: whoever keys on it (the front's
    // wire bytes) finds it by identity, not by comparing every character on each call.
    const before = this.built.get(meta.hostname)?.body;
    if (before === body) body = before;
    this.drop(meta.hostname);
    if (failed || uncacheable !== undefined) return;
    const bytes = sizeOf(ticket, meta, body, inputs);
    if (bytes > this.maxBytes / 4) return;
    this.newest = { ...ticket, meta: detached(meta), inputs, body, bytes };
    this.built.set(meta.hostname, this.newest);
    this.bytes += bytes;
    for (const [name, b] of this.built) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(name, b);
    }
  }

  clear(): void {
    this.built.clear();
    this.newest = undefined;
    this.bytes = 0;
  }

  /** Most recently used last. */
  private touch(b: Built): void {
    if (b === this.newest) return;
    this.built.delete(b.meta.hostname);
    this.built.set(b.meta.hostname, b);
    this.newest = b;
  }

  private drop(name: string, b = this.built.get(name)): void {
    if (!b) return;
    this.built.delete(name);
    if (b === this.newest) this.newest = undefined;
    this.bytes -= b.bytes;
  }

  /** `sameStore`: the repository and the store's metadata are as when the inputs were read, so those derived from them alone are too. */
  private async inputsUnchanged(inputs: BuildInput[], sameStore: boolean): Promise<boolean> {
    for (const i of inputs) {
      if (sameStore && i.fromRepositoryAndStore) continue;
      try {
        if ((await i.read()) !== i.value) return false;
      } catch {
        return false;
      }
    }
    return true;
  }
}
