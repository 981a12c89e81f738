// The SQLite store is private to the server: the database file and its -wal and -shm files are
// created 0600 whatever the umask, and a file that is readable by others is made 0600 again.
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { openStore } from "../../../server/store/open-store.js";
import { makeRun } from "../../support/run-record.js";

const mode = (f: string): string => (statSync(f).mode & 0o777).toString(8);

describe("SQLite store file modes", function () {
  let dir: string;
  let umask: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-mode-"));
    umask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates the database, its WAL and its shared-memory file 0600 under umask 022", async function () {
    const db = join(dir, "vacfg.db");
    const store = await openStore(`sqlite:${db}`);
    await store.recordRun(makeRun("node1", Date.now()));
    expect([mode(db), mode(`${db}-wal`), mode(`${db}-shm`)]).to.deep.equal(["600", "600", "600"]);
    await store.close();
  });

  it("makes an existing world-readable database 0600 when it opens it", async function () {
    const db = join(dir, "old.db");
    const first = await openStore(`sqlite:${db}`);
    await first.close();
    chmodSync(db, 0o644);
    writeFileSync(`${db}-wal`, "");
    chmodSync(`${db}-wal`, 0o644);
    const store = await openStore(`sqlite:${db}`);
    await store.recordRun(makeRun("node1", Date.now()));
    expect([mode(db), mode(`${db}-wal`), mode(`${db}-shm`)]).to.deep.equal(["600", "600", "600"]);
    await store.close();
  });
});
