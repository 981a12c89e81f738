// Packages: reading an APT index and resolving a closure, vacfg against upstream Bcfg2's own
// AptSource.read_files + Collection.complete (the reference kit's Python, in-process, same index,
// same initial packages) as the baseline. Synthetic indexes shaped like Debian's: dependency
// chains, alternatives, virtual packages, Essential packages.
//   node dist/bench/packages-closure.js [sizes=1000,10000,50000] [runs=5] [initial=50]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { readIndexes } from "../server/plugins/packages/apt-index.js";
import { AptCollection } from "../server/plugins/packages/collection.js";
import { cacheName } from "../server/plugins/packages/index-cache.js";
import { parseSources } from "../server/plugins/packages/sources.js";
import { parseXml } from "../protocol/xml.js";
import type { ClientMetadata } from "../server/core/metadata.js";
import { median } from "./measure.js";

const sizes = (process.argv[2] ?? "1000,10000,50000").split(",").map(Number);
/** This machine's own Debian index (apt's lists), when there: a real archive as the last row. */
const REAL_INDEX = "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4";
const REAL_INITIAL = ["openssh-server", "nginx", "postgresql", "python3", "systemd", "apache2", "exim4", "vim", "git", "build-essential"];
const runs = Number(process.argv[3] ?? 5);
const initialCount = Number(process.argv[4] ?? 50);
const URL = "http://127.0.0.1/debian";
const SOURCE = `<Source type="apt" url="${URL}" version="bookworm"><Component>main</Component><Arch>amd64</Arch></Source>`;
const INDEX_URL = `${URL}/dists/bookworm/main/binary-amd64/Packages.gz`;

/** A deterministic pseudo-random index of n packages (mulberry32). */
function syntheticIndex(n: number): string {
  let seed = 42;
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (below: number) => `pkg${Math.floor(rnd() * below)}`;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = [`Package: pkg${i}`, "Version: 1.0-1", "Architecture: amd64", `Description: synthetic ${i}`, " a second line of description"];
    if (i < n / 50) f.push("Essential: yes");
    const deps: string[] = [];
    // dependencies point mostly at lower numbers (libraries), as real archives do
    for (let d = Math.floor(rnd() * 5); d > 0; d--) deps.push(rnd() < 0.3 ? `${pick(Math.max(i, 1))} (>= 1.0)` : pick(Math.max(i, 1)));
    if (rnd() < 0.1) deps.push(`${pick(n)} | ${pick(n)}`);
    if (rnd() < 0.05) deps.push(`virt${Math.floor(rnd() * (n / 20))}`);
    if (deps.length && i > 0) f.push(`Depends: ${deps.join(", ")}`);
    if (rnd() < 0.05) f.push(`Provides: virt${Math.floor(rnd() * (n / 20))}`);
    out.push(f.join("\n") + "\n");
  }
  return out.join("\n");
}

const PYTHON = `
import sys, time, types, json
sys.path.insert(0, "/opt/bcfg2-ref/src/src/lib")
import Bcfg2.Options
Bcfg2.Options.setup.debug = False
Bcfg2.Options.setup.verbose = False
import Bcfg2.Server.Plugins.Packages.Apt as Apt
sys.modules["Bcfg2.Server.Plugins.Packages.Collection"].get_fam = lambda: None
import lxml.etree
cache, source, runs, initial = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
reads, completes = [], []
for _ in range(runs):
    src = Apt.AptSource(cache, lxml.etree.fromstring(source))
    src.save_state = lambda: None
    t = time.perf_counter(); src.read_files(); reads.append(time.perf_counter() - t)
    coll = Apt.AptCollection(types.SimpleNamespace(hostname="c", groups={"amd64"}), [src], cache, cache)
    base = set(initial) | coll.get_essential()
    t = time.perf_counter(); pk, unk = coll.complete(base, {}); completes.append(time.perf_counter() - t)
print(json.dumps({"read": sorted(reads)[len(reads)//2], "complete": sorted(completes)[len(completes)//2], "closure": sorted(pk)}))
`;

const meta = { hostname: "c", profile: "p", groups: new Set(["amd64"]), bundles: new Set(), aliases: new Set(), addresses: new Set(), categories: new Map(), connectors: {} } as ClientMetadata;
const [src] = parseSources(parseXml(`<Sources>${SOURCE}</Sources>`), "sources.xml");
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;

// Warm the JIT up (Python needs none) so the first size is not measured cold.
const warm = syntheticIndex(2000);
for (let w = 0; w < 10; w++) {
  const coll = new AptCollection(meta, [{ src, data: readIndexes([{ arch: "amd64", text: warm }], true) }]);
  coll.complete(new Set(["pkg1999", ...coll.essential()]), new Map());
}

console.log(`Packages closure: vacfg vs upstream Bcfg2 (Python ${process.env.PYTHON ?? "/usr/bin/python3"}), ${initialCount} initial packages + Essential, median of ${runs}`);
console.log("packages | closure | vacfg read | upstream read | ratio | vacfg closure | upstream closure | ratio | same set");
function row(label: string, text: string, initial: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-bench-packages-"));
  try {
    const gz = gzipSync(text);
    writeFileSync(join(dir, cacheName(INDEX_URL)), gz);
    const reads: number[] = [];
    const completes: number[] = [];
    let closure: string[] = [];
    for (let r = 0; r < runs; r++) {
      let t = process.hrtime.bigint();
      // as upstream's read_files: from the cached Packages.gz
      const data = readIndexes([{ arch: "amd64", text: gunzipSync(gz).toString("utf8") }], true);
      const read = Number(process.hrtime.bigint() - t) / 1e9;
      const coll = new AptCollection(meta, [{ src, data }]);
      t = process.hrtime.bigint();
      const { packages } = coll.complete(new Set([...initial, ...coll.essential()]), new Map());
      const complete = Number(process.hrtime.bigint() - t) / 1e9;
      closure = [...packages].sort();
      reads.push(read);
      completes.push(complete);
    }
    const py = spawnSync(process.env.PYTHON ?? "/usr/bin/python3", ["-c", PYTHON, dir, SOURCE, String(runs), JSON.stringify(initial)], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    if (py.status !== 0) {
      console.log(`${label} | ${closure.length} | ${ms(median(reads))} | (upstream failed: ${py.stderr.trim().split("\n").pop()}) | | ${ms(median(completes))} | | |`);
      return;
    }
    const up = JSON.parse(py.stdout) as { read: number; complete: number; closure: string[] };
    const same = JSON.stringify(up.closure) === JSON.stringify(closure);
    console.log(
      `${label} | ${closure.length} | ${ms(median(reads))} | ${ms(up.read)} | ${(median(reads) / up.read).toFixed(2)} | ${ms(median(completes))} | ${ms(up.complete)} | ${(median(completes) / up.complete).toFixed(2)} | ${same ? "yes" : "NO"}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
for (const n of sizes) row(String(n), syntheticIndex(n), Array.from({ length: initialCount }, (_, i) => `pkg${Math.floor(n - 1 - (i * n) / (initialCount * 3))}`));
const real = spawnSync("/usr/lib/apt/apt-helper", ["cat-file", REAL_INDEX], { encoding: "utf8", maxBuffer: 1024 * 1024 * 1024 });
if (real.status === 0) row(`Debian bookworm main (${real.stdout.match(/^Package: /gm)?.length} packages; ${REAL_INITIAL.length} initial)`, real.stdout, REAL_INITIAL);
