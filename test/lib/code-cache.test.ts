// lib/code-cache: modules loaded with a V8 code cache run exactly their current source, whatever
// cache lies beside them: a cache of another source of the same length (which V8 alone would take,
// running the old code), from another node, made under other V8 flags, damaged, or writable by
// others is not used, and the next save replaces it.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cacheFileOf, cachedModuleLoader, type CacheState } from "../../lib/code-cache.js";

describe("lib: code cache", () => {
  let dir: string;
  let mods: string;
  let cache: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-code-cache-"));
    mods = join(dir, "modules");
    cache = join(dir, "cache");
    execFileSync("mkdir", [mods]);
    // main requires its sibling by "./NAME" (one instance) and node's built-ins by name
    writeFileSync(join(mods, "main.cjs"), 'const b = require("./b.cjs"); const again = require("./b.cjs"); module.exports = { word: () => b.word(), same: b === again, sep: require("node:path").sep };\n');
    writeB("alpha");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** b.cjs answering `word`: every word of five letters gives a source of the same length. */
  const writeB = (word: string) => writeFileSync(join(mods, "b.cjs"), `module.exports = { word: function () { return "${word}"; } };\n`);
  /** A fresh loader's view: the word main answers and each module's cache state. */
  const run = (cacheDir: string | null = cache) => {
    const loader = cachedModuleLoader(mods, cacheDir);
    const main = loader.load("main.cjs") as { word: () => string; same: boolean; sep: string };
    return { loader, word: main.word(), same: main.same, sep: main.sep, states: Object.fromEntries(loader.states) as Record<string, CacheState> };
  };
  const warm = () => {
    const first = run();
    expect(first.loader.save()).to.deep.equal(["main.cjs", "b.cjs"]);
  };

  it("writes a cache after the work and uses it in the next process, with the same results", () => {
    const first = run();
    expect(first.states).to.deep.equal({ "main.cjs": "absent", "b.cjs": "absent" });
    expect([first.word, first.same, first.sep]).to.deep.equal(["alpha", true, "/"]);
    expect(first.loader.save()).to.deep.equal(["main.cjs", "b.cjs"]);
    for (const f of ["main.cjs", "b.cjs"]) expect(statSync(cacheFileOf(cache, f)).mode & 0o777).to.equal(0o644);
    const second = run();
    expect(second.states).to.deep.equal({ "main.cjs": "accepted", "b.cjs": "accepted" });
    expect([second.word, second.same]).to.deep.equal(["alpha", true]);
    expect(second.loader.save(), "an accepted cache is not written again").to.deep.equal([]);
  });

  it("runs the new source when a module changed to another of the same length, and replaces its cache", () => {
    warm();
    writeB("omega");
    const after = run();
    expect(after.word, "V8 alone takes the old cache (its check is the source's length) and runs the old code").to.equal("omega");
    expect(after.states).to.deep.equal({ "main.cjs": "accepted", "b.cjs": "stale" });
    expect(after.loader.save()).to.deep.equal(["b.cjs"]);
    const next = run();
    expect([next.states["b.cjs"], next.word]).to.deep.equal(["accepted", "omega"]);
  });

  it("does not use a cache made by another node (same V8 payload, another runtime in its key)", () => {
    warm();
    const file = cacheFileOf(cache, "b.cjs");
    const bytes = readFileSync(file);
    const nl = bytes.indexOf(10);
    const [magic, , digest] = bytes.subarray(0, nl).toString("latin1").split(" ");
    // the key another node computes: its own version string instead of this one's
    const other = execFileSync(process.execPath, ["-e", `process.stdout.write(require("crypto").createHash("sha256").update("v18.19.0 x64 v8 10.2.154.26-node.28").update("\\0").update(require("fs").readFileSync(${JSON.stringify(join(mods, "b.cjs"))}, "utf8")).digest("hex"))`], { encoding: "utf8" });
    writeFileSync(file, Buffer.concat([Buffer.from(`${magic} ${other} ${digest}\n`, "latin1"), bytes.subarray(nl + 1)]));
    const after = run();
    expect([after.states["b.cjs"], after.word]).to.deep.equal(["stale", "alpha"]);
  });

  it("runs from source when V8 rejects a cache made under other V8 flags, and replaces it", () => {
    // another process, same node, --no-opt: same key, but V8's flag check refuses the payload
    execFileSync(process.execPath, ["--no-opt", "--input-type=module", "-e", `import { cachedModuleLoader } from ${JSON.stringify(new URL("../../lib/code-cache.js", import.meta.url).href)}; const l = cachedModuleLoader(${JSON.stringify(mods)}, ${JSON.stringify(cache)}); l.load("main.cjs").word(); l.save();`]);
    const after = run();
    expect(after.states).to.deep.equal({ "main.cjs": "rejected", "b.cjs": "rejected" });
    expect(after.word).to.equal("alpha");
    expect(after.loader.save()).to.deep.equal(["main.cjs", "b.cjs"]);
    expect(run().states).to.deep.equal({ "main.cjs": "accepted", "b.cjs": "accepted" });
  });

  it("never gives V8 a damaged, truncated, foreign or group-writable cache", () => {
    warm();
    const file = cacheFileOf(cache, "b.cjs");
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 10] ^= 0xff;
    const cases: [string, () => void, CacheState][] = [
      ["a payload byte flipped", () => writeFileSync(file, flipped), "damaged"],
      ["cut short", () => writeFileSync(file, good.subarray(0, good.length - 100)), "damaged"],
      ["not a cache", () => writeFileSync(file, "#!/bin/sh\n"), "damaged"],
      ["group-writable", () => (writeFileSync(file, good), chmodSync(file, 0o664)), "untrusted"],
    ];
    // another user's file (only root can make one here; CI runs as root)
    if (process.getuid?.() === 0) cases.push(["another user's", () => (writeFileSync(file, good), chownSync(file, 65534, 65534)), "untrusted"]);
    for (const [what, make, state] of cases) {
      make();
      const after = run();
      expect([after.states["b.cjs"], after.word], what).to.deep.equal([state, "alpha"]);
      chmodSync(file, 0o644);
      chownSync(file, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    }
  });

  it("writes no cache into a directory others can write, nor through a link planted at its temporary name", () => {
    const open = join(dir, "open");
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    const inOpen = run(open);
    expect([inOpen.states["main.cjs"], inOpen.word]).to.deep.equal(["absent", "alpha"]);
    expect(inOpen.loader.save()).to.deep.equal([]);
    expect(readdirSync(open)).to.deep.equal([]);
    // a link at the name save writes first: the file it names stays as it was
    const victim = join(dir, "victim");
    writeFileSync(victim, "precious\n");
    mkdirSync(cache, { mode: 0o755 });
    symlinkSync(victim, `${cacheFileOf(cache, "main.cjs")}.${process.pid}.tmp`);
    expect(run().loader.save()).to.deep.equal(["b.cjs"]);
    expect(readFileSync(victim, "utf8")).to.equal("precious\n");
  });

  it("without a cache directory, or with one it cannot write, runs the same and saves nothing", () => {
    const off = run(null);
    expect([off.states["main.cjs"], off.word]).to.deep.equal(["off", "alpha"]);
    expect(off.loader.save()).to.deep.equal([]);
    const blocked = join(dir, "a-file");
    writeFileSync(blocked, "");
    const cannot = run(join(blocked, "cache"));
    expect([cannot.states["main.cjs"], cannot.word]).to.deep.equal(["absent", "alpha"]);
    expect(cannot.loader.save()).to.deep.equal([]);
  });
});
