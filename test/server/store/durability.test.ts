// CI's small version of bench/store-durability.ts: acknowledged runs survive SIGKILL of the writer.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { durabilityTrials } from "../../../harness/store-durability.js";
import { startPostgres, type PostgresServer } from "../../../harness/postgres-server.js";

describe("store durability under SIGKILL", function () {
  it("SQLite: every acknowledged run is present after 5 random kills", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vacfg-durable-"));
    try {
      const r = await durabilityTrials(`sqlite:${join(dir, "store.db")}`, 5);
      expect(r.acknowledged).to.be.greaterThan(0);
      expect(r.lost).to.equal(0);
      expect(r.torn).to.equal(0);
      expect(r.unacknowledgedPresent).to.be.at.most(r.trials);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("PostgreSQL (fsync on): every acknowledged run is present after 5 random kills", async () => {
    let server: PostgresServer | undefined;
    try {
      server = await startPostgres({ durable: true });
      const r = await durabilityTrials(server.url, 5);
      expect(r.acknowledged).to.be.greaterThan(0);
      expect(r.lost).to.equal(0);
      expect(r.torn).to.equal(0);
      expect(r.unacknowledgedPresent).to.be.at.most(r.trials);
    } finally {
      await server?.stop();
    }
  });
});
