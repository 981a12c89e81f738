import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
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
});
