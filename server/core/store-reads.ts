// Store reads shared by the plugins of one GetConfig: the client's probe data (Probes' groups and
// values, Context's parameters) and the list of clients are read once per build, not once per
// plugin that asks; a client's registration (what decides a write) is always read from the store.
// Like repo-trust.ts for files: while a GetConfig is answered (`openStoreVersion` to `closeStoreVersion`), a read is reused
// when it was made after the store's metadata version (Store.metadataVersion: registrations and
// probe data, any process) reached the version that GetConfig read before anything else, and this
// process wrote none of those since. Outside a GetConfig every read goes to the store, and while
// any other request is answered (`directReads`: probes, statistics, profile, version, admin calls)
// every read does, GetConfig's too: a plugin cannot tell which request reads, and only a GetConfig
// has read the version first.
import type { CoreStore } from "../store/store.js";
import { stampFor, stillTrusted, type TrustStamp } from "./repo-trust.js";

/** Per store: GetConfigs being answered, the newest version they read first, writes made through `sharedReads`. */
export interface StoreScope {
  open: number;
  /** Other requests being answered: nothing is shared meanwhile. */
  direct: number;
  version: number;
  writes: number;
}
const scopes = new WeakMap<CoreStore, StoreScope>();

/** A store's scope; a context without a store (a plugin tested alone) gets one that never opens. */
function scopeOf(store: CoreStore | undefined): StoreScope {
  const raw = store instanceof SharedReads ? store.inner : store;
  if (raw === undefined) return { open: 0, direct: 0, version: -1, writes: 0 };
  let s = scopes.get(raw);
  if (!s) scopes.set(raw, (s = { open: 0, direct: 0, version: -1, writes: 0 }));
  return s;
}

/**
 * Opens one GetConfig's scope, with reads shared at `version`, a Store.metadataVersion() read before
 * anything else (undefined when it could not be read: nothing is shared then, and nothing opens).
 * The GetConfig closes it with closeStoreVersion once answered.
 */
export function openStoreVersion(store: CoreStore, version: number | undefined): StoreScope | undefined {
  if (version === undefined) return undefined;
  const s = scopeOf(store);
  if (s.open++ === 0 || version > s.version) s.version = version;
  return s;
}

export function closeStoreVersion(s: StoreScope | undefined): void {
  if (s) s.open--;
}

/** Runs a request other than GetConfig: every store read, its own and any GetConfig's meanwhile, goes to the store. */
export async function directReads<T>(store: CoreStore, fn: () => Promise<T>): Promise<T> {
  const s = scopeOf(store);
  s.direct++;
  try {
    return await fn();
  } finally {
    s.direct--;
  }
}

/** What a shared read was vouched for by when it started. */
interface ReadStamp {
  version: number;
  writes: number;
}

function readStamp(s: StoreScope): ReadStamp | undefined {
  return s.open > 0 && s.direct === 0 ? { version: s.version, writes: s.writes } : undefined;
}

function stampHolds(s: StoreScope, stamp: ReadStamp | undefined): boolean {
  return stamp !== undefined && s.open > 0 && s.direct === 0 && stamp.version >= s.version && stamp.writes === s.writes;
}

/** Freezes a read's result: it is handed to every plugin that asks, none may change it. */
function frozen<T>(v: T): T {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) frozen(x);
    Object.freeze(v);
  }
  return v;
}

/** How many clients' reads are kept (a build reads its own client's; a few concurrent builds share). */
const KEPT = 64;

/** The store as plugins see it: getProbeData and listClients shared within a GetConfig. */
export class SharedReads implements CoreStore {
  private readonly scope: StoreScope;
  private readonly kept = new Map<string, { stamp: ReadStamp; value: Promise<unknown>; settled?: { value: unknown } }>();

  constructor(readonly inner: CoreStore) {
    this.scope = scopeOf(inner);
  }

  private shared<T>(key: string, read: () => Promise<T>): Promise<T> {
    const hit = this.kept.get(key);
    if (hit && stampHolds(this.scope, hit.stamp)) return hit.value as Promise<T>;
    const stamp = readStamp(this.scope);
    if (!stamp) return read();
    const value = read().then(frozen);
    const entry: { stamp: ReadStamp; value: Promise<unknown>; settled?: { value: unknown } } = { stamp, value };
    value.then(
      (v) => (entry.settled = { value: v }),
      () => this.kept.get(key) === entry && this.kept.delete(key),
    );
    this.kept.delete(key);
    this.kept.set(key, entry);
    if (this.kept.size > KEPT) this.kept.delete(this.kept.keys().next().value!);
    return value;
  }

  /** A write this process makes: nothing read before it is reused (before or after it lands). */
  private async wrote<T>(write: Promise<T>): Promise<T> {
    this.scope.writes++;
    try {
      return await write;
    } finally {
      this.scope.writes++;
    }
  }

  getProbeData(client: string): ReturnType<CoreStore["getProbeData"]> {
    return this.shared(`p\0${client}`, () => this.inner.getProbeData(client));
  }

  /** What getProbeData would answer, without a promise, when that shared read has already settled (else undefined). */
  probeDataNow(client: string): { value: Awaited<ReturnType<CoreStore["getProbeData"]>> } | undefined {
    const hit = this.kept.get(`p\0${client}`);
    return hit?.settled !== undefined && stampHolds(this.scope, hit.stamp) ? (hit.settled as { value: Awaited<ReturnType<CoreStore["getProbeData"]>> }) : undefined;
  }
  getClient(name: string): ReturnType<CoreStore["getClient"]> {
    return this.inner.getClient(name);
  }
  listClients(): ReturnType<CoreStore["listClients"]> {
    return this.shared("l", () => this.inner.listClients());
  }
  putProbeData(...a: Parameters<CoreStore["putProbeData"]>): ReturnType<CoreStore["putProbeData"]> {
    return this.wrote(this.inner.putProbeData(...a));
  }
  upsertClient(...a: Parameters<CoreStore["upsertClient"]>): ReturnType<CoreStore["upsertClient"]> {
    return this.wrote(this.inner.upsertClient(...a));
  }
  metadataVersion(): ReturnType<CoreStore["metadataVersion"]> {
    return this.inner.metadataVersion();
  }
  metadataVersionNow(): number | undefined {
    return this.inner.metadataVersionNow?.();
  }
  recordRun(...a: Parameters<CoreStore["recordRun"]>): ReturnType<CoreStore["recordRun"]> {
    return this.inner.recordRun(...a);
  }
  get<T>(...a: Parameters<CoreStore["get"]>): Promise<T | undefined> {
    return this.inner.get<T>(...a);
  }
  put(...a: Parameters<CoreStore["put"]>): ReturnType<CoreStore["put"]> {
    return this.inner.put(...a);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A client's probe data without a promise when the store plugins are given has it from a shared read
 * that still holds (within a GetConfig, as getProbeData would answer); undefined: ask getProbeData.
 */
export function probeDataNow(store: CoreStore, client: string): { value: Awaited<ReturnType<CoreStore["getProbeData"]>> } | undefined {
  return store instanceof SharedReads ? store.probeDataNow(client) : undefined;
}

/** The store plugins are given: reads shared within a GetConfig (see above). */
export function sharedReads(store: CoreStore): CoreStore {
  return store instanceof SharedReads ? store : new SharedReads(store);
}

/**
 * A value computed from repository files and the store's registrations and probe data alone (e.g.
 * SSHbase's roster of every client's names), reused within GetConfigs while neither moved.
 */
export class StoreAndRepoDerived<T> {
  private last?: { read: ReadStamp; repo: TrustStamp; value: Promise<T>; settled?: { value: T } };

  constructor(
    private readonly store: CoreStore | undefined,
    /** A path inside the repository (its whole change generation counts). */
    private readonly repoPath: string,
  ) {}

  get(compute: () => Promise<T>): Promise<T> {
    const s = scopeOf(this.store);
    const last = this.last;
    if (last && stampHolds(s, last.read) && stillTrusted(last.repo)) return last.value;
    const read = readStamp(s);
    const repo = stampFor(this.repoPath);
    const value = compute();
    const entry: typeof this.last = read && repo ? { read, repo, value } : undefined;
    this.last = entry;
    value.then(
      (v) => entry && (entry.settled = { value: v }),
      () => this.last?.value === value && (this.last = undefined),
    );
    return value;
  }

  /** What get() would answer, without a promise, when that answer has already settled (else undefined: call get). */
  now(): { value: T } | undefined {
    const last = this.last;
    return last?.settled !== undefined && stampHolds(scopeOf(this.store), last.read) && stillTrusted(last.repo) ? last.settled : undefined;
  }
}
