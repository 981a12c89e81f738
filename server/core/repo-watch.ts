// Change notification for the whole repository: one inotify watch per directory (fs.watch), a
// generation number that moves on every change, so a request can learn "nothing changed" in O(1)
// instead of a stat per file. When notification cannot be trusted (symbolic links, too many
// directories for the inotify limit, a watch error) `reliable` is false and callers check the disk.
// A large tree is watched in slices between requests, so the server answers (uncached) from the
// start instead of waiting for tens of thousands of watches; `ready` says when the walk is done.
import { watch, readdirSync, readFileSync, lstatSync, realpathSync, type FSWatcher } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { setVouching, type RepoClock } from "./repo-trust.js";

/** Directories never watched: version-control internals no repository reader looks into. */
const SKIPPED = new Set([".git", ".svn", ".hg"]);

/** How many events the kernel queues for an inotify reader before it drops the rest. */
function inotifyQueueLimit(): number {
  try {
    const n = Number(readFileSync("/proc/sys/fs/inotify/max_queued_events", "utf8"));
    return Number.isInteger(n) && n > 0 ? n : 16384;
  } catch {
    return 16384;
  }
}

export class RepoWatcher implements RepoClock {
  /** Moves (never back) whenever anything under the root changed since it was last read. */
  generation = 0;
  readonly prefix: string;
  /** Trust scopes open (requests being answered that settled first). */
  private scopes = 0;
  reliable = true;
  /** Every directory that existed at start is watched: only from then may a generation vouch for the tree. */
  ready = false;
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;
  /** Which walk of the tree is current: a walk started again (events lost) ends the older one's slices. */
  private walk = 0;
  /**
   * Events seen in this poll phase. libuv drains the inotify queue in one poll phase and drops the
   * kernel's overflow event (its wd is -1), so a burst near the queue's length is the only sign
   * that the kernel may have dropped events: then every watch is made again from a fresh walk.
   */
  private burst = 0;
  private readonly burstLimit = Math.max(1, Math.floor(inotifyQueueLimit() / 2));

  constructor(
    readonly root: string,
    private readonly logger: Logger,
  ) {
    this.prefix = join(root, "/");
  }

  /**
   * Runs `fn` (a request that called settle() just before) with this watcher vouching for the
   * repository: file caches reuse what they checked at the current generation without a stat
   * (repo-trust.ts). Nothing is vouched for until the watch is complete, or once it is unreliable.
   */
  async trusted<T>(fn: () => Promise<T>): Promise<T> {
    const open = this.openTrust();
    try {
      return await fn();
    } finally {
      if (open) this.closeTrust();
    }
  }

  /** `trusted`'s start, for a caller that runs the request in its own frame: true when a scope opened, to be closed by closeTrust. */
  openTrust(): boolean {
    if (!this.reliable || !this.ready || this.closed) return false;
    if (this.scopes++ === 0) setVouching(this, true);
    return true;
  }

  closeTrust(): void {
    if (--this.scopes === 0) setVouching(this, false);
  }

  /**
   * Watches every directory under the root (a walk of the tree, at start only): the first
   * `syncBudget` directories at once (a usual repository is then ready when this returns), the
   * rest in slices of `slice` directories (about 10 ms each) between requests.
   */
  start(syncBudget = 2000, sliceSize = 200): Promise<void> {
    let root: string;
    try {
      root = realpathSync(this.root);
      const st = lstatSync(root);
      if (!st.isDirectory()) throw new Error("not a directory");
    } catch (e) {
      this.unreliable("no repository", { err: (e as Error).message });
      return Promise.resolve();
    }
    const pending = [root];
    const walk = ++this.walk;
    const slice = (budget: number): boolean => {
      if (walk !== this.walk) return true;
      for (let n = 0; n < budget && pending.length > 0; n++) this.watchDir(pending.pop()!, false, pending);
      if (pending.length > 0 && this.reliable && !this.closed) return false;
      this.ready = true;
      return true;
    };
    if (slice(syncBudget)) return Promise.resolve();
    return new Promise((resolve) => {
      const next = (): void => void (slice(sliceSize) ? resolve() : setImmediate(next));
      setImmediate(next);
    });
  }

  /**
   * Resolves once every change made before the call has been seen. A write queues its inotify
   * event before the write returns; the event is read in the event loop's poll phase. Two
   * setImmediate hops guarantee that a whole poll phase began after this call (one hop alone may
   * land in the check phase of an iteration whose poll already ran).
   */
  settle(): Promise<void>;
  settle<T>(value: T): Promise<T>;
  settle<T>(value?: T): Promise<T | undefined> {
    return new Promise((resolve) => setImmediate(() => setImmediate(resolve, value)));
  }

  /**
   * Resolves once every change made before a request *arrived* has been seen, when the request was
   * read from a socket before this call: its bytes were sent after any such change, so the epoll
   * wait that reported them (this iteration's poll phase or an earlier one) also reported the
   * change's inotify event, and the next check phase comes after that poll phase has run.
   */
  settleArrived<T>(value: T): Promise<T> {
    return new Promise((resolve) => setImmediate(resolve, value));
  }

  /** `trusted` for synchronous work. */
  trustedNow<T>(fn: () => T): T {
    const open = this.openTrust();
    try {
      return fn();
    } finally {
      if (open) this.closeTrust();
    }
  }

  close(): void {
    this.closed = true;
    this.scopes = 0;
    setVouching(this, false);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private unreliable(why: string, detail: Record<string, unknown>): void {
    if (!this.reliable) return;
    this.reliable = false;
    this.generation++;
    setVouching(this, false);
    this.logger.warn({ root: this.root, ...detail }, `repository change notification off (${why}): every request checks the files it uses`);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /**
   * The kernel may have dropped events (a burst as long as half its queue in one read): what they
   * said is unknown, a directory made meanwhile may be unwatched and a watched one replaced. The
   * generation moves, nothing is vouched for, and the tree is watched again from scratch.
   */
  private eventsLost(): void {
    this.logger.warn(
      { root: this.root, events: this.burst, queueLimit: this.burstLimit * 2 },
      "repository change events may have been lost (inotify queue overflow): watching the repository again; raise fs.inotify.max_queued_events if this recurs",
    );
    this.burst = 0;
    this.generation++;
    this.ready = false;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    void this.start(0);
  }

  /** Watches `dir` and every directory below it, now (a directory that appeared). */
  private watchTree(dir: string): void {
    try {
      const st = lstatSync(dir);
      if (st.isSymbolicLink()) return this.unreliable("symbolic link", { path: dir });
      if (!st.isDirectory()) return;
    } catch {
      return; // gone again: its parent's event already moved the generation
    }
    const pending = [dir];
    while (pending.length > 0 && this.reliable && !this.closed) this.watchDir(pending.pop()!, true, pending);
  }

  /**
   * Watches the directory `dir` and queues its subdirectories on `pending`. `again`: the
   * directory was (re)created, so an existing watch may be on a deleted directory whose inode
   * number the new one reuses.
   */
  private watchDir(dir: string, again: boolean, pending: string[]): void {
    if (!this.reliable || this.closed) return;
    const known = this.watchers.get(dir);
    if (known && !again) return;
    known?.close();
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => this.changed(dir, name));
      w.on("error", () => {
        // The directory went away (or its watch did): forget it; a new one is found from its parent.
        this.generation++;
        if (this.watchers.get(dir) === w) this.watchers.delete(dir);
        w.close();
      });
      this.watchers.set(dir, w);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return; // gone: its parent's event moved the generation
      return this.unreliable((e as NodeJS.ErrnoException).code ?? "watch failed", { path: dir, err: (e as Error).message });
    }
    let names;
    try {
      names = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names) {
      if (d.isSymbolicLink()) return this.unreliable("symbolic link", { path: join(dir, d.name) });
      if (d.isDirectory() && !SKIPPED.has(d.name)) pending.push(join(dir, d.name));
    }
  }

  private changed(dir: string, name: string | Buffer | null): void {
    this.generation++;
    if (this.closed) return;
    if (this.burst++ === 0) setImmediate(() => (this.burst = 0));
    if (this.burst >= this.burstLimit) return this.eventsLost();
    // A new (or replaced) directory is watched at once; files already in it are seen by the next
    // build anyway, since the generation moved.
    if (name === null) return;
    const n = String(name);
    if (!SKIPPED.has(n)) this.watchTree(join(dir, n));
  }
}
