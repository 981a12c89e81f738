import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { RepoWatcher } from "../../../server/core/repo-watch.js";

const silent = pino({ level: "silent" });

describe("server core: repository watch", () => {
  let root: string;
  let watcher: RepoWatcher | undefined;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "vacfg-watch-"));
    for (let i = 0; i < 20; i++) mkdirSync(join(root, "Cfg", `d${i}`, "deep"), { recursive: true });
  });
  afterEach(() => {
    watcher?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("watches a tree larger than its start budget in slices, is ready only when every directory is watched, and then sees a change anywhere", async () => {
    watcher = new RepoWatcher(root, silent);
    const done = watcher.start(5, 3);
    expect(watcher.ready, "ready before the walk ended").to.equal(false);
    // A directory made during the walk is seen too.
    mkdirSync(join(root, "Cfg", "late", "deeper"), { recursive: true });
    await done;
    expect(watcher.ready).to.equal(true);
    expect(watcher.reliable).to.equal(true);
    for (const dir of [join(root, "Cfg", "d0", "deep"), join(root, "Cfg", "d19", "deep"), join(root, "Cfg", "late", "deeper")]) {
      const before = watcher.generation;
      writeFileSync(join(dir, "f"), "x");
      await new Promise((r) => setTimeout(r, 50));
      await watcher.settle();
      expect(watcher.generation, dir).to.be.greaterThan(before);
    }
  });

  it("is ready at once for a tree within the budget, and gives up notification (not ready to vouch) on a symbolic link", async () => {
    watcher = new RepoWatcher(root, silent);
    void watcher.start();
    expect(watcher.ready).to.equal(true);
    watcher.close();
    symlinkSync("/etc", join(root, "Cfg", "d7", "deep", "link"));
    watcher = new RepoWatcher(root, silent);
    await watcher.start(3, 2);
    expect(watcher.reliable).to.equal(false);
  });

  describe("when the kernel's inotify queue overflows", () => {
    const queueLimit = Number(readFileSync("/proc/sys/fs/inotify/max_queued_events", "utf8"));
    /** Creates `n` files then the directory `late` in `dir`, in a child the event loop waits for (nothing is read meanwhile). */
    const burst = (dir: string, n: number): void => {
      execFileSync("sh", ["-c", 'cd "$1" && i=0; while [ $i -lt "$2" ]; do : > "f$i"; i=$((i+1)); done; mkdir late', "sh", dir, String(n)]);
    };
    const warnings = (): { lines: string[]; logger: Logger } => {
      const lines: string[] = [];
      return { lines, logger: pino({ level: "warn" }, { write: (l: string) => void lines.push(l) }) };
    };
    const waitReady = async (w: RepoWatcher): Promise<void> => {
      for (let i = 0; i < 500 && !w.ready; i++) await new Promise((r) => setTimeout(r, 10));
      expect(w.ready, "ready again after the walk").to.equal(true);
    };

    it("watches the tree again, so a directory whose creation event the kernel dropped is watched", async () => {
      const log = warnings();
      watcher = new RepoWatcher(root, log.logger);
      await watcher.start();
      const dir = join(root, "Cfg", "d3");
      const before = watcher.generation;
      burst(dir, queueLimit + 2000);
      await watcher.settle();
      expect(watcher.generation).to.be.greaterThan(before);
      expect(log.lines.join("")).to.match(/may have been lost \(inotify queue overflow\)/);
      await waitReady(watcher);
      expect(watcher.reliable).to.equal(true);
      const g = watcher.generation;
      writeFileSync(join(dir, "late", "f"), "x");
      await new Promise((r) => setTimeout(r, 50));
      await watcher.settle();
      expect(watcher.generation, "a change in the directory made during the overflow").to.be.greaterThan(g);
    });

    it("keeps its watches through a burst well within the queue", async () => {
      const log = warnings();
      watcher = new RepoWatcher(root, log.logger);
      await watcher.start();
      burst(join(root, "Cfg", "d3"), Math.floor(queueLimit / 8));
      await watcher.settle();
      expect(watcher.ready).to.equal(true);
      expect(log.lines).to.deep.equal([]);
      const g = watcher.generation;
      writeFileSync(join(root, "Cfg", "d3", "late", "f"), "x");
      await new Promise((r) => setTimeout(r, 50));
      await watcher.settle();
      expect(watcher.generation).to.be.greaterThan(g);
    });
  });
});
