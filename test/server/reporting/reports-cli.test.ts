// `vacfg reports` as the admin runs it (the real CLI process) over a real SQLite store filled
// through the store interface: views, filters, --as-of, --stale-hours and --json.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { openStore } from "../../../server/store/open-store.js";
import type { RunRecord } from "../../../server/store/store.js";
import { projectRoot } from "../../support/paths.js";

const run = promisify(execFile);
const VACFG = join(projectRoot, "dist/cli/vacfg.js");

function runRecord(client: string, timestamp: number, bad: string[]): RunRecord {
  return {
    client, timestamp, state: bad.length ? "dirty" : "clean", total: 3, good: 3 - bad.length, bad: bad.length, modified: 0, extra: 0,
    revision: "-1", dryRun: false, flags: {}, timings: { start: timestamp / 1000, config_download: timestamp / 1000 + 0.25, finished: timestamp / 1000 + 1 },
    entries: bad.map((name) => ({ kind: "bad" as const, tag: "Path", name, attrs: { name, current_exists: "false" }, diff: "--- a\n+++ b\n+x\n" })),
  };
}

describe("vacfg reports (CLI)", function () {
  let dir: string;
  let url: string;
  const H = 3600_000;
  const now = Date.now();

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "vacfg-reports-cli-"));
    url = `sqlite:${join(dir, "vacfg.db")}`;
    const store = await openStore(url);
    for (const [name, first] of [["alpha", now - 50 * H], ["beta", now - 50 * H], ["gamma", now - 50 * H], ["delta", now - 1 * H]] as const) {
      await store.upsertClient({ name, profile: "worker", firstSeen: first });
    }
    await store.recordRun(runRecord("alpha", now - 48 * H, ["/etc/hosts"]));
    await store.recordRun(runRecord("alpha", now - 1 * H, []));
    await store.recordRun(runRecord("beta", now - 2 * H, ["/etc/hosts", "/etc/\u001b[31mevil"]));
    await store.recordRun(runRecord("gamma", now - 30 * H, ["/etc/hosts"]));
    await store.close();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const vacfg = async (...args: string[]): Promise<string> => (await run(process.execPath, [VACFG, "reports", ...args, "--store", url])).stdout;

  it("prints the client grid with states, stale after 24 h by default", async function () {
    const out = await vacfg("clients");
    expect(out).to.match(/^alpha\s+worker\s+clean\s/m);
    expect(out).to.match(/^beta\s+worker\s+bad\s/m);
    expect(out).to.match(/^gamma\s+worker\s+stale\s/m);
    expect(out).to.match(/^delta\s+worker\s+never\s*$/m);
  });

  it("filters by state and client, and honours --stale-hours", async function () {
    expect((await vacfg("clients", "--state", "bad")).trim().split("\n").slice(2).map((l) => l.split(/\s+/)[0])).to.deep.equal(["beta"]);
    expect((await vacfg("clients", "--client", "gam", "--stale-hours", "48")).trim().split("\n").slice(2).join("\n")).to.match(/^gamma\s+worker\s+bad\s/);
  });

  it("shows the state as of a past time", async function () {
    const out = await vacfg("clients", "--as-of", new Date(now - 40 * H).toISOString(), "--json");
    const rows = JSON.parse(out) as Array<{ name: string; state: string }>;
    expect(rows.map((r) => [r.name, r.state])).to.deep.equal([["alpha", "bad"], ["beta", "never"], ["gamma", "never"]]);
  });

  it("summarizes, lists bad entries and common problems, without passing control characters to the terminal", async function () {
    expect(await vacfg("summary")).to.match(/^4\s+1\s+2\s+0\s+0\s+1\s+1$/m);
    const bad = await vacfg("bad");
    expect(bad).to.contain("/etc/\\x1b[31mevil");
    expect(bad).not.to.contain("\u001b");
    expect(await vacfg("common")).to.match(/^bad\s+Path\s+\/etc\/hosts\s+2\s+beta,gamma$/m);
  });

  it("shows one client with its entries and diffs, and timings", async function () {
    const out = await vacfg("client", "--client", "beta");
    expect(out).to.contain("beta: bad");
    expect(out).to.match(/bad entries:\n\s+Path \/etc\/hosts\s+\(current_exists=false\)\n\s+--- a/);
    expect(await vacfg("timings")).to.match(/^alpha\s+0\.250\s+0\.750\s+1\.000$/m);
  });

  it("refuses a bad state or as-of time with the reason", async function () {
    const e = await vacfg("clients", "--state", "weird").catch((x: { stderr: string; code: number }) => x);
    expect(e).to.include({ code: 1 });
    expect((e as { stderr: string }).stderr).to.contain('state: "weird" is not one of');
    const e2 = await vacfg("clients", "--as-of", "yesterday").catch((x: { stderr: string }) => x);
    expect((e2 as { stderr: string }).stderr).to.contain("is not an ISO 8601 time");
  });
});
