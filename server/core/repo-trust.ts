// When a cached parse of a repository file may be reused without a stat: while a request that
// settled the repository's change notification is being answered (a trust scope, RepoWatcher's
// `trusted`), a file whose cache entry was checked at the watcher's current generation has not
// changed since. Outside a scope, or for files outside every watched root, caches stat as before.
// Writes the server itself makes to the repository (generated keys, clients.xml) count as changes
// at once, before the watcher's event arrives (noteRepoWrite).

/** A change-notified repository root that can vouch for the files below it. */
export interface RepoClock {
  /** The root with a trailing "/": files whose path starts with it are covered. */
  readonly prefix: string;
  /** Moves on every change seen under the root. */
  readonly generation: number;
}

/** What a cache entry was checked against: reusable while both are unchanged. */
export interface TrustStamp {
  clock: RepoClock;
  generation: number;
  writes: number;
}

const vouching: RepoClock[] = [];
let writes = 0;

/** The server wrote into the repository: nothing checked before now is vouched for any more. */
export function noteRepoWrite(): void {
  writes++;
}

/** A clock starts (or stops) vouching: called by RepoWatcher around a trust scope. */
export function setVouching(clock: RepoClock, on: boolean): void {
  const i = vouching.indexOf(clock);
  if (on && i < 0) vouching.push(clock);
  else if (!on && i >= 0) {
    // Removed without splice (which makes an array per call): the order of the clocks does not matter.
    vouching[i] = vouching[vouching.length - 1];
    vouching.pop();
  }
}

/** The stamp to record for a check of `path` (the root itself or a path below it) starting now, or undefined when nothing vouches for it. */
export function stampFor(path: string): TrustStamp | undefined {
  for (const clock of vouching) if (path.startsWith(clock.prefix) || path + "/" === clock.prefix) return { clock, generation: clock.generation, writes };
  return undefined;
}

/** Whether a check recorded with `stamp` still holds (its clock vouches and nothing changed since). */
export function stillTrusted(stamp: TrustStamp | undefined): boolean {
  return stamp !== undefined && stamp.writes === writes && stamp.clock.generation === stamp.generation && vouching.includes(stamp.clock);
}

/**
 * A value computed from repository files below `path` (and from `key`, everything else it reads),
 * reused while the same key is asked for and nothing in the repository changed since it was computed.
 */
export class RepoDerived<T> {
  private last?: { key: string; value: T; stamp: TrustStamp };

  constructor(private readonly path: string) {}

  get(key: string, compute: () => T): T {
    const last = this.last;
    if (last && last.key === key && stillTrusted(last.stamp)) return last.value;
    const stamp = stampFor(this.path);
    const value = compute();
    this.last = stamp ? { key, value, stamp } : undefined;
    return value;
  }
}
