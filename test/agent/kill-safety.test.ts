// Killing the agent (SIGKILL) at random points of an apply, many times: every managed file is
// always entirely the old or the new version, and passwd/shadow/group/gshadow stay consistent.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serializeConfiguration } from "../../protocol/documents/configuration.js";
import { el } from "../../protocol/xml.js";
import { AGENT_MAIN, makeBaseRoot, removeDir, runAgentProcess, tempDir } from "./fixtures.js";

const FILES = 30;
const USERS = 10;

function content(version: number, i: number): string {
  // large enough that a write takes a while, so kills land inside writes
  return `version ${version} of file ${i}\n`.repeat(8000);
}

/** Version 1 has all users; version 2 keeps half, with other gecos/shells (the rest are removed with -r users). */
function configuration(version: number): string {
  const files = Array.from({ length: FILES }, (_, i) =>
    el("Path", { name: `/srv/data/dir${i % 5}/file${i}.conf`, type: "file", owner: `user${i % USERS}`, group: "root", mode: i % 2 ? "0600" : "0644" }, [], content(version, i)),
  );
  const n = version === 1 ? USERS : USERS / 2;
  const accounts = Array.from({ length: USERS }, (_, i) => [
    el("POSIXGroup", { name: `group${i}`, gid: String(3000 + i) }),
    ...(i < n ? [el("POSIXUser", { name: `user${i}`, uid: String(3000 + i), group: `group${i}`, gecos: `User ${i} v${version}`, home: `/home/user${i}`, shell: version === 1 ? "/bin/sh" : "/bin/bash" }, [el("MemberOf", {}, [], "users")])] : []),
  ]).flat();
  return serializeConfiguration({ version: "2.0", revision: String(version), bundles: [{ name: "data", attrs: {}, entries: [...accounts, ...files] }], independent: [] });
}

function rows(root: string, f: string): string[][] {
  const p = join(root, "etc", f);
  const text = readFileSync(p, "utf8");
  expect(text === "" || text.endsWith("\n"), `${f} ends mid-line`).to.equal(true);
  return text.split("\n").filter(Boolean).map((l) => l.split(":"));
}

function checkConsistent(root: string): void {
  const passwd = rows(root, "passwd");
  const shadow = rows(root, "shadow");
  const group = rows(root, "group");
  const gshadow = rows(root, "gshadow");
  for (const r of passwd) expect(r.length, r.join(":")).to.equal(7);
  for (const r of shadow) expect(r.length, r.join(":")).to.equal(9);
  for (const r of [...group, ...gshadow]) expect(r.length, r.join(":")).to.equal(4);
  const shadowNames = new Set(shadow.map((r) => r[0]));
  const gids = new Set(group.map((r) => r[2]));
  const gshadowNames = new Set(gshadow.map((r) => r[0]));
  for (const r of passwd) {
    expect(shadowNames.has(r[0]), `user ${r[0]} has no shadow line`).to.equal(true);
    expect(gids.has(r[3]), `user ${r[0]}'s gid ${r[3]} is not in group`).to.equal(true);
  }
  for (const r of group) expect(gshadowNames.has(r[0]), `group ${r[0]} has no gshadow line`).to.equal(true);
  for (const f of ["passwd", "shadow", "group", "gshadow"]) {
    expect(new Set(rows(root, f).map((r) => r[0])).size, `duplicate names in ${f}`).to.equal(rows(root, f).length);
  }
}

function checkFiles(root: string): void {
  for (let i = 0; i < FILES; i++) {
    const p = join(root, `srv/data/dir${i % 5}/file${i}.conf`);
    if (!existsSync(p)) continue;
    const text = readFileSync(p, "utf8");
    expect([content(1, i), content(2, i)].includes(text), `${p} is partially written (${text.length} bytes)`).to.equal(true);
  }
}

/** Runs the agent, SIGKILLed after `ms` unless it ends first: its exit code (null: killed) and how long it ran. */
function killAfter(args: string[], ms: number): Promise<{ code: number | null; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [AGENT_MAIN, ...args], { stdio: "ignore" });
    const t = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, ms: Date.now() - t0 });
    });
  });
}

describe("agent killed at random points during an apply", function () {
  let work: string;
  before(() => {
    work = tempDir("vacfg-agent-kill-");
  });
  after(() => removeDir(work));

  it("never leaves a partially written file or an inconsistent passwd/shadow/group (60 trials)", async () => {
    const root = join(work, "root");
    makeBaseRoot(root);
    const cfg = [join(work, "v1.xml"), join(work, "v2.xml")];
    writeFileSync(cfg[0], configuration(1));
    writeFileSync(cfg[1], configuration(2));
    const args = (v: number) => ["-f", cfg[v], "--root", root, "-q", "-r", "users"];
    // a first run into the empty root, then one timed run per version as the trials alternate them
    // (the first run creates everything and is slower: timing it would put many kills after the end)
    expect((await runAgentProcess(args(0))).code).to.equal(0);
    let span = Infinity;
    for (const v of [1, 0, 1]) {
      const t0 = Date.now();
      expect((await runAgentProcess(args(v))).code).to.equal(0);
      span = Math.min(span, Date.now() - t0);
    }
    let killed = 0;
    let trial = 0;
    const trials = Number(process.env.VACFG_KILL_TRIALS ?? 60);
    // How many trials end killed depends on how fast runs are now, which the machine's load changes
    // under the test: trials go on until most of them were killed (a run that completes before its
    // kill shortens the span the next delays are drawn from), at most four times as many.
    while ((trial < trials || killed <= trial / 2) && trial < 4 * trials) {
      // mostly inside the run; a few land after it, so complete runs alternate with killed ones
      const delay = Math.floor(Math.random() * span);
      const r = await killAfter(args(trial % 2), delay);
      if (r.code === null) killed++;
      else span = Math.min(span, r.ms);
      trial++;
      checkFiles(root);
      checkConsistent(root);
    }
    expect(killed, `most of ${trial} trials should be killed mid-run`).to.be.greaterThan(trial / 2).and.at.least(trials / 2);
    // afterwards a run completes (stale locks of killed runs are broken), is clean, and leaves no temporaries
    const stats = join(work, "final.xml");
    const r = await runAgentProcess([...args(0), "--stats-file", stats]);
    expect(r.code, r.stderr).to.equal(0);
    expect(readFileSync(stats, "utf8"), r.stderr + readFileSync(stats, "utf8").replace(/.*<Bad>/s, "")).to.contain('state="clean"');
    const r2 = await runAgentProcess([...args(0), "--stats-file", stats]);
    expect(r2.code, r2.stderr).to.equal(0);
    expect(readFileSync(stats, "utf8")).to.contain("<Modified/>");
    const leftovers: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d, { withFileTypes: true })) {
        // .pwd.lock stays, as lckpwdf leaves it; FILE.lock and FILE.<pid> must be gone
        if (n.name.includes(".vacfg-tmp-") || (/\.(lock|\d+)$/.test(n.name) && n.name !== ".pwd.lock" && d.endsWith("/etc"))) leftovers.push(join(d, n.name));
        if (n.isDirectory()) walk(join(d, n.name));
      }
    };
    walk(root);
    expect(leftovers).to.deep.equal([]);
    checkConsistent(root);
  });
});
