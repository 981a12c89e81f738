// The memory store of local mode: the CoreStore semantics the SQL engines have (first sighting kept,
// a version kept when a declaration has none, values copied, bad runs refused as STORE errors), and
// nothing left after close().
import { expect } from "chai";
import { isVacfgError } from "../../../protocol/errors.js";
import { MemoryStore } from "../../../server/store/memory-store.js";
import { makeRun } from "../../support/run-record.js";

async function storeError(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(isVacfgError(e), String(e)).to.equal(true);
  expect((e as { code: string }).code).to.equal("STORE");
  return (e as Error).message;
}

describe("MemoryStore (local mode)", () => {
  it("keeps a client's first sighting and known version, lists clients by name", async () => {
    const s = new MemoryStore();
    await s.upsertClient({ name: "b", profile: "p1", firstSeen: 10, version: "1.4" });
    await s.upsertClient({ name: "b", profile: "p2", firstSeen: 20 });
    await s.upsertClient({ name: "a", profile: "p1", firstSeen: 30 });
    expect(await s.getClient("b")).to.deep.equal({ name: "b", profile: "p2", firstSeen: 10, version: "1.4" });
    expect((await s.listClients()).map((c) => c.name)).to.deep.equal(["a", "b"]);
    expect(await s.getClient("c")).to.equal(undefined);
  });

  it("stores copies: a caller changing its object later does not change the store", async () => {
    const s = new MemoryStore();
    const value = { since: 1, count: 1 };
    await s.put("rate", "127.0.0.1", value);
    value.count = 99;
    expect(await s.get("rate", "127.0.0.1")).to.deep.equal({ since: 1, count: 1 });
    const data = { client: "n", values: [{ name: "p", source: "s", value: "v" }], groups: ["g"], timestamp: 5 };
    await s.putProbeData(data);
    data.groups.push("h");
    expect(await s.getProbeData("n")).to.deep.equal({ client: "n", values: [{ name: "p", source: "s", value: "v" }], groups: ["g"], timestamp: 5 });
    expect(await s.getProbeData("m")).to.equal(undefined);
  });

  it("numbers runs and refuses a bad one (state, entry kind, no JSON form) as the SQL constraints do", async () => {
    const s = new MemoryStore();
    expect(await s.recordRun(makeRun("n", 1))).to.equal(1);
    expect(await s.recordRun(makeRun("n", 1))).to.equal(2);
    expect(await storeError(s.recordRun({ ...makeRun("n", 1), state: "weird" as "clean" }))).to.contain('run state "weird"');
    const bad = makeRun("n", 1);
    bad.entries = [{ kind: "odd" as "good", tag: "Path", name: "/x", attrs: {} }];
    expect(await storeError(s.recordRun(bad))).to.contain('entry kind "odd"');
    expect(await storeError(s.put("k", "x", undefined))).to.contain("no JSON representation");
    expect(await s.recordRun(makeRun("n", 1))).to.equal(3);
  });

  it("moves its metadata version with registrations and probe data, not with runs or records", async () => {
    const s = new MemoryStore();
    const v0 = await s.metadataVersion();
    await s.recordRun(makeRun("n", 1));
    await s.put("k", "x", 1);
    expect(await s.metadataVersion()).to.equal(v0);
    await s.upsertClient({ name: "n", profile: "p", firstSeen: 1 });
    const v1 = await s.metadataVersion();
    expect(v1).to.not.equal(v0);
    await s.putProbeData({ client: "n", values: [], groups: [], timestamp: 2 });
    expect(await s.metadataVersion()).to.not.equal(v1);
  });

  it("holds nothing after close() and refuses further use", async () => {
    const s = new MemoryStore();
    await s.put("k", "x", 1);
    await s.close();
    expect(await storeError(s.get("k", "x"))).to.contain("closed");
  });
});
