// lib/file-lock: a lock is broken only when its holder is gone, never while a slow holder still works.
import { expect } from "chai";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { withFileLock } from "../../lib/file-lock.js";

describe("lib: file lock", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-file-lock-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("waits for a holder that takes longer than the stale age, and enters after it", async () => {
    const path = join(dir, "shared");
    const order: string[] = [];
    let inside = 0;
    const holder = (name: string, ms: number) =>
      withFileLock(
        path,
        async () => {
          inside++;
          order.push(`${name} in${inside > 1 ? " (two holders!)" : ""}`);
          await sleep(ms);
          order.push(`${name} out`);
          inside--;
        },
        "REPO_FILE",
        200,
      );
    const slow = holder("slow", 1000); // five times the stale age
    await sleep(20);
    await Promise.all([slow, holder("next", 0)]);
    expect(order).to.deep.equal(["slow in", "slow out", "next in", "next out"]);
  });

  it("breaks the lock a killed holder left once it is older than the stale age", async () => {
    const path = join(dir, "shared");
    writeFileSync(`${path}.lock`, "");
    const old = new Date(Date.now() - 1000);
    utimesSync(`${path}.lock`, old, old);
    expect(await withFileLock(path, () => "entered", "REPO_FILE", 200)).to.equal("entered");
  });
});
