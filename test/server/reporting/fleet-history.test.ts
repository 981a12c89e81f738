// The reports over a window, on a real SQLite store: windows are cut into aligned points, and a
// series shown again asks the store only for the points that could still change.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { openStore } from "../../../server/store/open-store.js";
import type { BucketQuery, Store } from "../../../server/store/store.js";
import { durationSeries, parseWindow, pointAt, SeriesCache, stateSeries } from "../../../server/reporting/fleet-history.js";
import { makeRun } from "../../support/run-record.js";

const HOUR = 3_600_000;

describe("fleet history over a window", function () {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-history-"));
    store = await openStore(`sqlite:${join(dir, "store.db")}`);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("cuts a window into at most 60 points aligned to whole steps, the last at the as-of time", function () {
    const asOf = Date.UTC(2026, 11, 4, 10, 17);
    const w = parseWindow("24h", asOf);
    expect(w.step).to.equal(HOUR / 2);
    expect(w.points).to.equal(48);
    expect(pointAt(w, 0)).to.equal(Date.UTC(2026, 11, 3, 11, 0));
    expect(pointAt(w, 46)).to.equal(Date.UTC(2026, 11, 4, 10, 0));
    expect(pointAt(w, 47)).to.equal(asOf);
    expect(parseWindow("90d", asOf)).to.include({ step: 2 * 24 * HOUR, points: 45 });
    expect(parseWindow(undefined, asOf).label).to.equal("7d");
    for (const bad of ["0h", "30m", "401d", "7 days", "-1d"]) expect(() => parseWindow(bad, asOf), bad).to.throw(/window: .* must be a duration from 1h to 400d/);
  });

  it("reads only the points that could still change when a cached series is shown again", async function () {
    const now = Date.now();
    const w = parseWindow("6h", now);
    await store.recordRun(makeRun("a", now - 5 * HOUR, { state: "clean", bad: 0, modified: 0, entries: [] }));
    await store.recordRun(makeRun("b", now - 2 * HOUR));
    // The real store, with the window queries it answers counted.
    const asked: BucketQuery[] = [];
    const counting: Store = Object.create(store, {
      runsAtPoints: { value: (q: BucketQuery) => (asked.push(q), store.runsAtPoints(q)) },
      durationsByBucket: { value: (q: BucketQuery) => (asked.push(q), store.durationsByBucket(q)) },
    });
    // Its clock a minute on, so that every whole point up to now counts as finished.
    const cache = new SeriesCache(() => now + SeriesCache.SETTLE_MS);
    const first = await stateSeries(counting, w, 24, undefined, cache);
    const firstDurations = await durationSeries(counting, w, {}, cache);
    expect(asked.map((q) => q.from)).to.deep.equal([w.from, w.from]);
    expect(first[first.length - 1]).to.include({ clients: 2, clean: 1, bad: 1 });
    // A new run in the newest bucket: only the newest point moves, and only it is read again.
    await store.recordRun(makeRun("a", now - 1, { bad: 3 }));
    asked.length = 0;
    const again = await stateSeries(counting, w, 24, undefined, cache);
    const againDurations = await durationSeries(counting, w, {}, cache);
    expect(asked.map((q) => (q.from - w.from) / w.step)).to.deep.equal([w.points - 1, w.points - 1]);
    expect(again.slice(0, -1)).to.deep.equal(first.slice(0, -1));
    expect(again[again.length - 1]).to.include({ clients: 2, clean: 0, bad: 2 });
    expect(againDurations.slice(0, -1)).to.deep.equal(firstDurations);
    expect(againDurations[againDurations.length - 1]).to.include({ at: now, runs: 1 });
    // Without a cache every point is read, with the same values.
    expect(await stateSeries(store, w, 24)).to.deep.equal(again);
  });
});
