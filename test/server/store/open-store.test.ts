// openStore: which engine and file a store URL names.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { openStore, sqlitePath } from "../../../server/store/open-store.js";

describe("openStore", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "vacfg-open-store-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("reads sqlite: URLs, plain paths and postgres URLs", () => {
    expect(sqlitePath("sqlite:/var/lib/vacfg/store.db")).to.equal("/var/lib/vacfg/store.db");
    expect(sqlitePath("sqlite:///var/lib/vacfg/store.db")).to.equal("/var/lib/vacfg/store.db");
    expect(sqlitePath("data/store.db")).to.equal("data/store.db");
    expect(sqlitePath("sqlite::memory:")).to.equal(":memory:");
    expect(sqlitePath("postgres://u@127.0.0.1:5432/vacfg")).to.equal(undefined);
    expect(sqlitePath("postgresql://u@127.0.0.1/vacfg")).to.equal(undefined);
    expect(() => sqlitePath("sqlite:")).to.throw(/names no SQLite file/).with.property("code", "STORE");
  });

  it("creates the data directory and one database file, migrated and usable", async () => {
    const file = join(dir, "data", "store.db");
    const store = await openStore(file);
    try {
      expect(store.kind).to.equal("sqlite");
      expect(existsSync(file)).to.equal(true);
      await store.put("k", "a", [1]);
      expect(await store.get("k", "a")).to.deep.equal([1]);
    } finally {
      await store.close();
    }
  });

  it("opens an in-memory SQLite store", async () => {
    const store = await openStore("sqlite::memory:");
    await store.upsertClient({ name: "c", profile: "p", firstSeen: 1 });
    expect(await store.listClients()).to.have.length(1);
    await store.close();
  });

  it("fails with STORE when the database cannot be opened", async () => {
    const e = await openStore("postgres://nobody@127.0.0.1:1/none").catch((err: unknown) => err);
    expect(e).to.have.property("code", "STORE");
    const notADir = join(dir, "file");
    await writeFile(notADir, "");
    const e2 = await openStore(join(notADir, "x.db")).catch((err: unknown) => err);
    expect(e2).to.have.property("code", "STORE");
    expect((e2 as Error).message).to.contain(notADir);
  });
});
