// One behavioural suite for the Store interface, run against real SQLite and real PostgreSQL.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { mkdirSync } from "node:fs";
import { expect } from "chai";
import Database from "better-sqlite3";
import pg from "pg";
import { openStore } from "../../../server/store/open-store.js";
import { LATEST_VERSION, MIGRATIONS, POSTGRES_DIALECT, SCHEMA_VERSION_DDL, SQLITE_DIALECT } from "../../../server/store/migrations.js";
import type { Store } from "../../../server/store/store.js";
import { makeRun } from "../../support/run-record.js";

import { sharedPostgres } from "../../../harness/postgres-server.js";
import { raceInsertIfAbsent } from "../../support/store-race.js";
import { isVacfgError } from "../../../protocol/errors.js";

export interface StoreTarget {
  name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** URL of a new, empty database. */
  freshUrl(): Promise<string>;
  /** Runs SQL on the database with the engine's own driver, bypassing the store. */
  raw(url: string, sql: string): Promise<Array<Record<string, unknown>>>;
}

async function expectStoreError(p: Promise<unknown>): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isVacfgError(e), `expected a VacfgError, got ${String(e)}`).to.equal(true);
  expect((e as { code: string }).code).to.equal("STORE");
}

export function storeContract(t: StoreTarget): void {
  describe(`Store contract: ${t.name}`, function () {
    let url: string;
    let store: Store;
    const opened: Store[] = [];
    const open = async (u = url): Promise<Store> => {
      const s = await openStore(u);
      opened.push(s);
      return s;
    };

    before(() => t.setup());
    after(() => t.teardown());
    beforeEach(async () => {
      url = await t.freshUrl();
      store = await open();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    it("reports its engine kind", () => {
      expect(store.kind).to.equal(t.name);
    });

    describe("clients", () => {
      it("upserts keeping the first sighting and a known version when none is declared", async () => {
        await store.upsertClient({ name: "node1", profile: "worker", firstSeen: 1000, version: "1.4.0" });
        await store.upsertClient({ name: "head", profile: "head", firstSeen: 2000 });
        await store.upsertClient({ name: "node1", profile: "head", firstSeen: 5000 });
        expect(await store.getClient("node1")).to.deep.equal({ name: "node1", profile: "head", firstSeen: 1000, version: "1.4.0" });
        await store.upsertClient({ name: "node1", profile: "head", firstSeen: 6000, version: "1.4.1" });
        expect((await store.getClient("node1"))?.version).to.equal("1.4.1");
        expect(await store.getClient("head")).to.deep.equal({ name: "head", profile: "head", firstSeen: 2000 });
        expect(await store.getClient("nobody")).to.equal(undefined);
        expect((await store.listClients()).map((c) => c.name)).to.deep.equal(["head", "node1"]);
      });
    });

    describe("metadata version", () => {
      it("moves with every registration and probe data write, from any connection, and not with runs or records", async () => {
        const other = await open();
        const moved = async (what: string, write: () => Promise<unknown>): Promise<void> => {
          const before = await store.metadataVersion();
          await write();
          expect(await store.metadataVersion(), `${what}: seen by this connection`).to.not.equal(before);
          expect(await other.metadataVersion(), `${what}: seen by another connection`).to.equal(await store.metadataVersion());
        };
        await moved("a client registered here", () => store.upsertClient({ name: "a", profile: "p", firstSeen: 1 }));
        await moved("a client registered elsewhere", () => other.upsertClient({ name: "b", profile: "p", firstSeen: 1 }));
        await moved("a registration changed elsewhere", () => other.upsertClient({ name: "a", profile: "q", firstSeen: 1 }));
        await moved("probe data written here", () => store.putProbeData({ client: "a", values: [{ name: "x", source: "Probes", value: "1" }], groups: [], timestamp: 1 }));
        await moved("probe data written elsewhere", () => other.putProbeData({ client: "a", values: [{ name: "x", source: "Probes", value: "2" }], groups: ["g"], timestamp: 2 }));
        await moved("a client deleted elsewhere", () => other.deleteClient("b"));
        const still = await store.metadataVersion();
        await other.recordRun(makeRun("a", 5));
        await other.put("k", "v", { x: 1 });
        await other.delete("k", "v");
        expect(await store.metadataVersion(), "runs and records leave it alone").to.equal(still);
      });
    });

    describe("probe data", () => {
      it("replaces a client's values and groups as a whole, leaving other clients alone", async () => {
        await store.putProbeData({
          client: "a",
          values: [
            { name: "arch", source: "Probes", value: "x86_64" },
            { name: "mem", source: "Probes", value: "line 1\nline 2 ü\n" },
          ],
          groups: ["big", "amd64"],
          timestamp: 1732550000123,
        });
        await store.putProbeData({ client: "b", values: [{ name: "arch", source: "Probes", value: "aarch64" }], groups: [], timestamp: 7 });
        await store.putProbeData({ client: "a", values: [{ name: "disk", source: "Probes", value: "" }], groups: ["small"], timestamp: 1732550009999 });
        expect(await store.getProbeData("a")).to.deep.equal({
          client: "a",
          values: [{ name: "disk", source: "Probes", value: "" }],
          groups: ["small"],
          timestamp: 1732550009999,
        });
        expect((await store.getProbeData("b"))?.values).to.deep.equal([{ name: "arch", source: "Probes", value: "aarch64" }]);
        expect(await store.getProbeData("c")).to.equal(undefined);
      });

      it("concurrent replacements through several connections never interleave", async () => {
        const stores = [store, await open(), await open()];
        const sets = Array.from({ length: 12 }, (_, i) => ({
          client: "a",
          values: Array.from({ length: 1 + (i % 4) }, (_, j) => ({ name: `p${j}`, source: "Probes", value: `set${i}` })),
          groups: [`g${i}`],
          timestamp: i,
        }));
        await Promise.all(sets.map((d, i) => stores[i % stores.length].putProbeData(d)));
        const got = await store.getProbeData("a");
        expect(got).to.not.equal(undefined);
        expect(got).to.deep.equal(sets[got!.timestamp]);
      });

      it("keeps the old data when a replacement fails half way", async () => {
        await store.putProbeData({ client: "a", values: [{ name: "arch", source: "P", value: "x" }], groups: ["g"], timestamp: 1 });
        const bad = { name: "broken", source: "P", value: null as unknown as string };
        await expectStoreError(store.putProbeData({ client: "a", values: [{ name: "n", source: "P", value: "v" }, bad], groups: [], timestamp: 2 }));
        expect(await store.getProbeData("a")).to.deep.equal({ client: "a", values: [{ name: "arch", source: "P", value: "x" }], groups: ["g"], timestamp: 1 });
      });
    });

    describe("runs", () => {
      it("purges runs older than a time with their entries, keeping each client's newest run", async () => {
        const old = 1_700_000_000_000;
        const ids = {
          a1: await store.recordRun(makeRun("a", old)),
          a2: await store.recordRun(makeRun("a", old + 1000)),
          a3: await store.recordRun(makeRun("a", old + 9000)),
          b1: await store.recordRun(makeRun("b", old + 500)),
        };
        // Before old+5000: a1 and a2 go; a3 is newer; b1 is old but b's newest run.
        expect(await store.purgeRuns(old + 5000)).to.equal(2);
        expect((await store.listRuns()).map((r) => r.id).sort()).to.deep.equal([ids.a3, ids.b1].sort());
        expect(await store.getRunEntries(ids.a1)).to.deep.equal([]);
        expect(await store.getRunEntries(ids.a3)).to.have.length(3);
        const orphans = await t.raw(url, `SELECT COUNT(*) AS n FROM run_entries WHERE run_id IN (${ids.a1}, ${ids.a2})`);
        expect(Number(orphans[0].n)).to.equal(0);
        expect(await store.purgeRuns(old + 5000)).to.equal(0);
      });

      it("records a run with its entries and reads them back exactly", async () => {
        const run = makeRun("node1", 1732550000123, { dryRun: true, state: "clean" });
        run.entries.push({ kind: "extra", tag: "Path", name: "/tmp/bin", attrs: {}, diff: "\u0000binary\u00ff\n" });
        const id = await store.recordRun(run);
        const { entries, ...summary } = run;
        // The duration is the span of the OpStamps: 1732550002.125 - 1732550000.25.
        expect(await store.listRuns()).to.deep.equal([{ id, ...summary, durationSeconds: 1.875 }]);
        expect(await store.getRunEntries(id)).to.deep.equal(entries);
        expect(await store.getRunEntries(id + 1000)).to.deep.equal([]);
      });

      it("lists newest first, by client, as of a time, with a limit; latestRuns per client", async () => {
        const a1 = await store.recordRun(makeRun("a", 100));
        const b1 = await store.recordRun(makeRun("b", 150));
        const a2 = await store.recordRun(makeRun("a", 200, { state: "clean", entries: [] }));
        const b2 = await store.recordRun(makeRun("b", 300));
        const a3 = await store.recordRun(makeRun("a", 300));
        expect(new Set([a1, b1, a2, b2, a3]).size).to.equal(5);
        const ids = (runs: Array<{ id: number }>): number[] => runs.map((r) => r.id);
        expect(ids(await store.listRuns())).to.deep.equal([a3, b2, a2, b1, a1]);
        expect(ids(await store.listRuns({ client: "a" }))).to.deep.equal([a3, a2, a1]);
        expect(ids(await store.listRuns({ client: "a", before: 200 }))).to.deep.equal([a2, a1]);
        expect(ids(await store.listRuns({ limit: 2 }))).to.deep.equal([a3, b2]);
        expect(ids(await store.latestRuns())).to.deep.equal([a3, b2]);
        expect(ids(await store.latestRuns(299))).to.deep.equal([a2, b1]);
        expect(ids(await store.latestRuns(120))).to.deep.equal([a1]);
        expect(await store.latestRuns(50)).to.deep.equal([]);
        expect(await store.getRunEntries(a2)).to.deep.equal([]);
        // A run that arrives stamped older than the newest (another server's clock) does not replace it.
        const late = await store.recordRun(makeRun("b", 250));
        expect(ids(await store.latestRuns())).to.deep.equal([a3, b2]);
        expect(ids(await store.latestRuns(260))).to.deep.equal([a2, late]);
        const tie = await store.recordRun(makeRun("b", 300));
        expect(ids(await store.latestRuns())).to.deep.equal([a3, tie]);
      });

      it("refuses an invalid run without writing any of it", async () => {
        await expectStoreError(store.recordRun(makeRun("a", 1, { state: "weird" as "clean" })));
        const badEntry = makeRun("a", 2);
        badEntry.entries.push({ kind: "strange" as "good", tag: "Path", name: "/x", attrs: {} });
        await expectStoreError(store.recordRun(badEntry));
        expect(await store.listRuns()).to.deep.equal([]);
        const ok = await store.recordRun(makeRun("a", 3));
        expect(await store.getRunEntries(ok)).to.have.length(3);
      });

      it("writes issued together: each failing one writes nothing and fails alone, the others are stored", async () => {
        await store.putProbeData({ client: "p", values: [{ name: "arch", source: "P", value: "x" }], groups: ["g"], timestamp: 1 });
        const badRun = makeRun("bad", 5);
        badRun.entries.push({ kind: "strange" as "good", tag: "Path", name: "/x", attrs: {} });
        const badProbe = { name: "broken", source: "P", value: null as unknown as string };
        // Not awaited one by one: SQLite commits these in one transaction (a savepoint each).
        const writes = [
          store.recordRun(makeRun("a", 1)),
          store.recordRun(badRun),
          store.upsertClient({ name: "c1", profile: "web", firstSeen: 1 }),
          store.putProbeData({ client: "p", values: [{ name: "n", source: "P", value: "v" }, badProbe], groups: [], timestamp: 2 }),
          store.put("vm", "v1", { mem: 1 }),
          store.recordRun(makeRun("b", 2)),
        ];
        const settled = await Promise.allSettled(writes);
        expect(settled.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
        for (const r of settled) if (r.status === "rejected") await expectStoreError(Promise.reject(r.reason));
        expect((await store.listRuns()).map((r) => r.client).sort()).to.deep.equal(["a", "b"]);
        expect(await store.getRunEntries((settled[0] as PromiseFulfilledResult<number>).value)).to.have.length(3);
        expect(await store.getClient("c1")).to.deep.include({ profile: "web" });
        expect(await store.getProbeData("p")).to.deep.equal({ client: "p", values: [{ name: "arch", source: "P", value: "x" }], groups: ["g"], timestamp: 1 });
        expect(await store.get("vm", "v1")).to.deep.equal({ mem: 1 });
        const orphans = await t.raw(url, "SELECT COUNT(*) AS n FROM run_entries WHERE run_id NOT IN (SELECT id FROM runs)");
        expect(Number(orphans[0].n)).to.equal(0);
      });

      it("records a run's groups and bundles; runMembers reads those of many runs at once", async () => {
        const a1 = await store.recordRun(makeRun("a", 100, { groups: ["web", "debian", "web"], bundles: ["motd"] }));
        const b1 = await store.recordRun(makeRun("b", 150, { groups: ["db"], bundles: ["motd", "pg"] }));
        const a2 = await store.recordRun(makeRun("a", 200, { groups: ["db"], bundles: [] }));
        const none = await store.recordRun(makeRun("c", 250));
        expect(await store.getRunMembers(a1)).to.deep.equal({ groups: ["debian", "web"], bundles: ["motd"] });
        expect(await store.getRunMembers(none)).to.deep.equal({ groups: [], bundles: [] });
        expect(await store.runMembers([a2, b1, none], "group")).to.deep.equal([
          { runId: b1, name: "db" },
          { runId: a2, name: "db" },
        ].sort((x, y) => x.runId - y.runId));
        expect(await store.runMembers([a1, b1], "group")).to.deep.equal([
          { runId: b1, name: "db" },
          { runId: a1, name: "debian" },
          { runId: a1, name: "web" },
        ]);
        expect(await store.runMembers([a2, b1], "bundle")).to.deep.equal([
          { runId: b1, name: "motd" },
          { runId: b1, name: "pg" },
        ]);
        expect(await store.runMembers([], "group")).to.deep.equal([]);
        // More runs than one query names: read in batches.
        const many: number[] = [];
        for (let i = 0; i < 520; i++) many.push(await store.recordRun(makeRun(`m${i}`, 300 + i, { groups: ["g"], entries: [] })));
        const got = await store.runMembers([...many, a1], "group");
        expect(got.filter((m) => m.name === "g").map((m) => m.runId)).to.deep.equal(many);
        expect(got.filter((m) => m.name !== "g")).to.have.length(2);
        // Purging a run deletes its memberships with it.
        await store.purgeRuns(180);
        expect(await store.getRunMembers(a1)).to.deep.equal({ groups: [], bundles: [] });
        expect(Number((await t.raw(url, `SELECT COUNT(*) AS n FROM run_members WHERE run_id = ${a1}`))[0].n)).to.equal(0);
      });

      it("runEntries reads one kind of entry of many runs at once, each run's in order", async () => {
        const twoBad = makeRun("a", 100);
        twoBad.entries.push({ kind: "bad", tag: "Package", name: "ntp", attrs: { version: "1" } });
        const a = await store.recordRun(twoBad);
        const b = await store.recordRun(makeRun("b", 150));
        const clean = await store.recordRun(makeRun("c", 160, { entries: [] }));
        const entries = makeRun("x", 0).entries;
        expect(await store.runEntries([b, clean, a], "bad")).to.deep.equal([
          { runId: a, entry: entries[1] },
          { runId: a, entry: { kind: "bad", tag: "Package", name: "ntp", attrs: { version: "1" } } },
          { runId: b, entry: entries[1] },
        ]);
        expect(await store.runEntries([b], "modified")).to.deep.equal([{ runId: b, entry: entries[2] }]);
        expect(await store.runEntries([clean], "bad")).to.deep.equal([]);
        expect(await store.runEntries([], "bad")).to.deep.equal([]);
        // More runs than one query names: read in batches.
        const many: number[] = [];
        for (let i = 0; i < 510; i++) many.push(await store.recordRun(makeRun(`m${i}`, 200 + i)));
        expect((await store.runEntries(many, "extra")).length).to.equal(0);
        expect((await store.runEntries(many, "bad")).map((e) => e.runId)).to.deep.equal(many);
      });

      it("reads each client's newest run at each point of a window, with membership", async () => {
        // Window (1000, 4000] with points at 2000, 3000 and 4000.
        const before = await store.recordRun(makeRun("a", 900, { groups: ["web"] }));
        const older = await store.recordRun(makeRun("a", 500, { groups: ["web"] }));
        const b0 = await store.recordRun(makeRun("b", 1000, { groups: ["db"] }));
        const a1 = await store.recordRun(makeRun("a", 1500, { groups: ["web"], bad: 0, state: "clean" }));
        const a2 = await store.recordRun(makeRun("a", 2000, { groups: ["web"], bad: 2 }));
        const a3 = await store.recordRun(makeRun("a", 3999, { groups: ["db"] }));
        const later = await store.recordRun(makeRun("a", 4001, { groups: ["web"] }));
        const b2 = await store.recordRun(makeRun("b", 2001, { groups: ["web"] }));
        const c = await store.recordRun(makeRun("c", 3500));
        expect(new Set([before, older, b0, a1, a2, a3, later, b2, c]).size).to.equal(9);
        const q = { from: 1000, to: 4000, step: 1000 };
        const got = (await store.runsAtPoints(q)).map((r) => [r.point, r.client, r.id, r.member]);
        expect(got).to.deep.equal([
          [0, "a", a2, true],
          [0, "b", b0, true],
          [1, "a", a2, true],
          [1, "b", b2, true],
          [2, "a", a3, true],
          [2, "b", b2, true],
          [2, "c", c, true],
        ]);
        const web = (await store.runsAtPoints({ ...q, member: { kind: "group", name: "web" } })).map((r) => [r.point, r.client, r.member]);
        expect(web).to.deep.equal([
          [0, "a", true],
          [0, "b", false],
          [1, "a", true],
          [1, "b", true],
          [2, "a", false],
          [2, "b", true],
          [2, "c", false],
        ]);
        const one = await store.runsAtPoints({ ...q, client: "b" });
        expect(one.map((r) => r.id)).to.deep.equal([b0, b2, b2]);
        expect(one[1]).to.deep.include({ client: "b", point: 1, timestamp: 2001, state: "dirty", bad: 1, modified: 1, extra: 0 });
        expect(await store.runsAtPoints({ from: 0, to: 400, step: 100 })).to.deep.equal([]);
        // A window ending mid-bucket: its last point is its end, not the bucket's (a3 at 3999 is after 3500).
        const cut = (await store.runsAtPoints({ ...q, to: 3500 })).filter((r) => r.point === 2).map((r) => [r.client, r.id]);
        expect(cut).to.deep.equal([
          ["a", a2],
          ["b", b2],
          ["c", c],
        ]);
      });

      it("sums run durations per bucket (count, mean, maximum), by client or group", async () => {
        const stamps = (s: number) => ({ start: 1000, finished: 1000 + s });
        await store.recordRun(makeRun("a", 1100, { timings: stamps(2), groups: ["web"] }));
        await store.recordRun(makeRun("b", 1200, { timings: stamps(4) }));
        await store.recordRun(makeRun("a", 1900, { timings: { start: 5 } }));
        await store.recordRun(makeRun("a", 3500, { timings: stamps(10), groups: ["web"] }));
        await store.recordRun(makeRun("a", 900, { timings: stamps(99) }));
        const q = { from: 1000, to: 4000, step: 1000 };
        expect(await store.durationsByBucket(q)).to.deep.equal([
          { bucket: 0, runs: 2, meanSeconds: 3, maxSeconds: 4 },
          { bucket: 2, runs: 1, meanSeconds: 10, maxSeconds: 10 },
        ]);
        expect(await store.durationsByBucket({ ...q, client: "b" })).to.deep.equal([{ bucket: 0, runs: 1, meanSeconds: 4, maxSeconds: 4 }]);
        expect((await store.durationsByBucket({ ...q, member: { kind: "group", name: "web" } })).map((d) => d.meanSeconds)).to.deep.equal([2, 10]);
      });

      it("lists the problem entries of a client's runs in a window, newest run first, at most maxRows", async () => {
        const r1 = await store.recordRun(makeRun("a", 100));
        const r2 = await store.recordRun(makeRun("a", 200, { entries: [{ kind: "extra", tag: "Package", name: "telnet", attrs: {} }] }));
        await store.recordRun(makeRun("b", 150));
        await store.recordRun(makeRun("a", 50));
        expect(await store.runProblems({ client: "a", after: 60, before: 300 }, 100)).to.deep.equal([
          { runId: r2, kind: "extra", tag: "Package", name: "telnet" },
          { runId: r1, kind: "bad", tag: "Path", name: "/etc/hosts" },
          { runId: r1, kind: "modified", tag: "Service", name: "sshd" },
        ]);
        // The run limit keeps the newest runs; maxRows cuts the entries.
        expect((await store.runProblems({ client: "a", limit: 1 }, 100)).map((p) => p.runId)).to.deep.equal([r2]);
        expect((await store.runProblems({ client: "a" }, 2)).map((p) => p.name)).to.deep.equal(["telnet", "/etc/hosts"]);
      });

      it("keeps everything across close and reopen", async () => {
        const id = await store.recordRun(makeRun("a", 10));
        await store.put("vm", "v1", { mem: 512 });
        await store.close();
        const again = await open();
        expect((await again.listRuns()).map((r) => r.id)).to.deep.equal([id]);
        expect(await again.get("vm", "v1")).to.deep.equal({ mem: 512 });
      });
    });

    describe("records", () => {
      it("puts, overwrites, gets, lists by kind and deletes", async () => {
        await store.put("vm", "b", { name: "b", disks: [1, 2], nested: { ok: true } });
        await store.put("vm", "a", "just a string");
        await store.put("lease", "a", 42);
        await store.put("vm", "b", { name: "b2" });
        expect(await store.get("vm", "b")).to.deep.equal({ name: "b2" });
        expect(await store.get("vm", "a")).to.equal("just a string");
        expect(await store.get("lease", "a")).to.equal(42);
        expect(await store.get("vm", "zz")).to.equal(undefined);
        expect(await store.list("vm")).to.deep.equal([
          { key: "a", value: "just a string" },
          { key: "b", value: { name: "b2" } },
        ]);
        expect(await store.delete("vm", "a")).to.equal(true);
        expect(await store.delete("vm", "a")).to.equal(false);
        expect(await store.list("vm")).to.deep.equal([{ key: "b", value: { name: "b2" } }]);
        expect(await store.list("lease")).to.deep.equal([{ key: "a", value: 42 }]);
      });

      it("round-trips null, NUL characters and non-ASCII text", async () => {
        await store.put("k", "null", null);
        await store.put("k", "nul", { s: "a\u0000b", u: "ünï 漢字" });
        expect(await store.get("k", "null")).to.equal(null);
        expect(await store.get("k", "nul")).to.deep.equal({ s: "a\u0000b", u: "ünï 漢字" });
      });

      it("refuses a value with no JSON form", async () => {
        await expectStoreError(store.put("k", "undef", undefined));
        await expectStoreError(store.insertIfAbsent("k", "undef", undefined));
        expect(await store.list("k")).to.deep.equal([]);
      });

      it("insertIfAbsent inserts once and never overwrites", async () => {
        expect(await store.insertIfAbsent("lease", "10.0.0.5", { vm: "a" })).to.equal(true);
        expect(await store.insertIfAbsent("lease", "10.0.0.5", { vm: "b" })).to.equal(false);
        expect(await store.get("lease", "10.0.0.5")).to.deep.equal({ vm: "a" });
        expect(await store.insertIfAbsent("other", "10.0.0.5", { vm: "b" })).to.equal(true);
      });

      it("concurrent insertIfAbsent of one key through several connections: exactly one wins", async () => {
        const stores = [store, await open(), await open(), await open()];
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) => stores[i % stores.length].insertIfAbsent("lease", "10.0.0.9", { by: i })),
        );
        expect(results.filter(Boolean)).to.have.length(1);
        expect(await store.get("lease", "10.0.0.9")).to.deep.equal({ by: results.indexOf(true) });
      });

      it("threads racing to open a fresh database and insertIfAbsent one key: one migration, one winner", async () => {
        const fresh = await t.freshUrl();
        const results = await raceInsertIfAbsent(fresh, 6, "lease", "10.0.0.7");
        expect(results.filter((r) => r.error)).to.deep.equal([]);
        expect(results.filter((r) => r.inserted)).to.have.length(1);
        const versions = (await t.raw(fresh, "SELECT version FROM schema_version")).map((r) => Number(r.version));
        expect(versions).to.deep.equal(MIGRATIONS.map((m) => m.version));
        const winner = results.findIndex((r) => r.inserted);
        expect(await (await open(fresh)).get("lease", "10.0.0.7")).to.deep.equal({ worker: winner });
      });
    });

    describe("migrations", () => {
      it("migrate() is idempotent", async () => {
        await store.put("k", "x", 1);
        await store.migrate();
        await store.migrate();
        await (await open()).migrate();
        const versions = (await t.raw(url, "SELECT version FROM schema_version ORDER BY version")).map((r) => Number(r.version));
        expect(versions).to.deep.equal(MIGRATIONS.map((m) => m.version));
        expect(await store.get("k", "x")).to.equal(1);
      });

      it("two stores migrating one fresh database at once both succeed", async () => {
        const fresh = await t.freshUrl();
        const [s1, s2] = await Promise.all([open(fresh), open(fresh)]);
        await s1.put("k", "x", 1);
        expect(await s2.get("k", "x")).to.equal(1);
        const rows = await t.raw(fresh, "SELECT version FROM schema_version");
        expect(rows).to.have.length(MIGRATIONS.length);
      });

      it("gives runs stored before version 2 their duration from their OpStamps", async () => {
        const fresh = await t.freshUrl();
        const dialect = t.name === "sqlite" ? SQLITE_DIALECT : POSTGRES_DIALECT;
        await t.raw(fresh, SCHEMA_VERSION_DDL);
        await t.raw(fresh, MIGRATIONS[0].sql(dialect));
        await t.raw(fresh, "INSERT INTO schema_version (version, name, applied_at) VALUES (1, 'v1', 0)");
        const insert = (client: string, timings: string) =>
          t.raw(fresh, `INSERT INTO runs (client, received_at, state, total, good, bad, modified, extra, revision, dry_run, flags_json, timings_json) VALUES ('${client}', 10, 'clean', 0, 0, 0, 0, 0, '', 0, '{}', '${timings}')`);
        await insert("a", '{"start": 100.5, "config": 101, "finished": 103.25}');
        await insert("b", '{"start": 100.5}');
        const s = await open(fresh);
        const runs = await s.listRuns();
        expect(runs.find((r) => r.client === "a")?.durationSeconds).to.equal(2.75);
        expect(runs.find((r) => r.client === "b")).not.to.have.property("durationSeconds");
      });

      it("brings a database at version 3 holding runs to the newest schema: the same reads, through the new indexes", async () => {
        const fresh = await t.freshUrl();
        const dialect = t.name === "sqlite" ? SQLITE_DIALECT : POSTGRES_DIALECT;
        await t.raw(fresh, SCHEMA_VERSION_DDL);
        for (const m of MIGRATIONS.filter((m) => m.version <= 3)) {
          await t.raw(fresh, m.sql(dialect));
          await t.raw(fresh, `INSERT INTO schema_version (version, name, applied_at) VALUES (${m.version}, 'v${m.version}', 0)`);
        }
        const insert = (client: string, at: number, bad: number) =>
          t.raw(fresh, `INSERT INTO runs (client, received_at, state, total, good, bad, modified, extra, revision, dry_run, flags_json, timings_json, duration_s) VALUES ('${client}', ${at}, '${bad ? "dirty" : "clean"}', 2, ${2 - bad}, ${bad}, 0, 0, '', 0, '{}', '{}', 3)`);
        await insert("a", 1500, 1);
        await insert("a", 2500, 0);
        await insert("b", 1200, 0);
        await insert("b", 3100, 1);
        const s = await open(fresh);
        const versions = (await t.raw(fresh, "SELECT version FROM schema_version ORDER BY version")).map((r) => Number(r.version));
        expect(versions).to.deep.equal(MIGRATIONS.map((m) => m.version));
        const indexes = t.name === "sqlite" ? "SELECT name AS indexname FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs'" : "SELECT indexname FROM pg_indexes WHERE tablename = 'runs'";
        const names = (await t.raw(fresh, indexes)).map((r) => String(r.indexname));
        expect(names).to.include.members(["runs_client_state", "runs_time_duration"]);
        expect(names).not.to.include.members(["runs_client_time"]);
        expect(names).not.to.include.members(["runs_time"]);
        if (t.name === "postgres") {
          // Autovacuum keeps the visibility map of the growing table current (index-only seeks).
          const [{ reloptions }] = await t.raw(fresh, "SELECT reloptions FROM pg_class WHERE relname = 'runs'");
          expect(reloptions).to.deep.equal(["autovacuum_vacuum_insert_scale_factor=0.01"]);
        }
        expect((await s.latestRuns()).map((r) => [r.client, r.timestamp, r.bad])).to.deep.equal([
          ["a", 2500, 0],
          ["b", 3100, 1],
        ]);
        expect((await s.latestRuns(3000)).map((r) => [r.client, r.timestamp])).to.deep.equal([
          ["a", 2500],
          ["b", 1200],
        ]);
        const points = await s.runsAtPoints({ from: 1000, to: 4000, step: 1000 });
        expect(points.map((r) => [r.point, r.client, r.timestamp, r.bad])).to.deep.equal([
          [0, "a", 1500, 1],
          [0, "b", 1200, 0],
          [1, "a", 2500, 0],
          [1, "b", 1200, 0],
          [2, "a", 2500, 0],
          [2, "b", 3100, 1],
        ]);
        expect(await s.durationsByBucket({ from: 1000, to: 4000, step: 1000 })).to.deep.equal([
          { bucket: 0, runs: 2, meanSeconds: 3, maxSeconds: 3 },
          { bucket: 1, runs: 1, meanSeconds: 3, maxSeconds: 3 },
          { bucket: 2, runs: 1, meanSeconds: 3, maxSeconds: 3 },
        ]);
        // New runs go on from the migrated ones; purging keeps each client's newest.
        await s.recordRun(makeRun("a", 3500, { bad: 0 }));
        expect((await s.latestRuns()).map((r) => r.timestamp)).to.deep.equal([3500, 3100]);
        expect(await s.purgeRuns(5000)).to.equal(3);
        expect((await s.listRuns()).map((r) => r.timestamp)).to.deep.equal([3500, 3100]);
      });

      it("refuses a database written by a newer schema", async () => {
        await t.raw(url, `INSERT INTO schema_version (version, name, applied_at) VALUES (${LATEST_VERSION + 1}, 'future', 0)`);
        await expectStoreError(store.migrate());
        await expectStoreError(openStore(url));
      });
    });
  });
}

// --- the two engines ---

let sqliteDir = "";
let sqliteN = 0;
storeContract({
  name: "sqlite",
  setup: async () => {
    sqliteDir = await mkdtemp(join(tmpdir(), "vacfg-store-"));
  },
  teardown: () => rm(sqliteDir, { recursive: true, force: true }),
  freshUrl: async () => `sqlite:${join(sqliteDir, `db${++sqliteN}`, "store.db")}`,
  raw: async (url, sql) => {
    const path = url.slice("sqlite:".length);
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    try {
      // Several statements (a migration's DDL) run as a script.
      if (sql.trim().replace(/;\s*$/, "").includes(";")) return (db.exec(sql), []);
      const s = db.prepare(sql);
      return s.reader ? (s.all() as Array<Record<string, unknown>>) : (s.run(), []);
    } finally {
      db.close();
    }
  },
});

storeContract({
  name: "postgres",
  setup: async () => {
    await sharedPostgres();
  },
  teardown: async () => undefined,
  freshUrl: async () => (await sharedPostgres()).createDatabase(),
  raw: async (url, sql) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  },
});
