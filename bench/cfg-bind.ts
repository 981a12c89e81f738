// Cfg binding throughput on the lab repository: every Cfg entry of node0 bound per "GetConfig",
// warm (one plugin, cached parses) against cold (a new plugin per GetConfig, everything re-read
// and re-parsed), in the same run. Usage: node dist/bench/cfg-bind.js [seconds-per-mode]
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { el, parseXml } from "../protocol/xml.js";
import type { PluginContext } from "../server/core/context.js";
import type { ClientMetadata, ProbeValueView } from "../server/core/metadata.js";
import type { Store } from "../server/store/store.js";
import { CfgPlugin } from "../server/plugins/cfg/index.js";

const seconds = Number(process.argv[2] ?? "3");
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const lab = resolve(root, "../shared/bcfg2-ref/repo");
const repo = mkdtempSync(join(tmpdir(), "vacfg-bench-cfg-"));
cpSync(lab, repo, { recursive: true });

const props = Object.fromEntries(
  ["cluster.xml", "hostkeys.xml"].map((f) => [f, { xdata: parseXml(readFileSync(join(repo, "Properties", f), "utf8")) }]),
);
const cpus: ProbeValueView = { value: "2\n", toString: () => "2\n" };
const meta = (hostname: string): ClientMetadata => ({
  hostname,
  profile: "torque-head",
  groups: new Set(["bookworm", "cluster", "debian", "linux", "torque-head", "torque-server"]),
  bundles: new Set(),
  aliases: new Set(),
  addresses: new Set(),
  categories: new Map(),
  connectors: { Probes: { cpus }, Properties: props },
});
const node0 = meta("node0");
const ctx: PluginContext = {
  settings: { repo, dataDir: repo, password: "", plugins: ["Cfg"], defaultAuth: "cert+password", allowedProbeGroups: [] },
  store: undefined as unknown as Store, // Cfg never touches the store
  logger: pino({ level: "silent" }),
  metadata: () => ({
    authenticate: async () => undefined,
    buildMetadata: async (c) => meta(c),
    setProfile: async () => undefined,
    setVersion: async () => undefined,
    listClients: async () => ["node0"],
    clientNames: async (c) => ({ names: [c], addresses: [] }),
  }),
  plugins: () => [],
};

async function getConfig(cfg: CfgPlugin): Promise<number> {
  let failures = 0;
  for (const name of cfg.entryNames("Path")) {
    const e = el("Path", { name });
    try {
      await cfg.bindEntry(e, node0);
    } catch {
      failures++; // config.cheetah: refused by design
    }
  }
  return failures;
}

async function measure(label: string, next: () => CfgPlugin): Promise<number> {
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let n = 0;
  const t0 = process.hrtime.bigint();
  while (process.hrtime.bigint() < end) {
    await getConfig(next());
    n++;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = n / secs;
  console.log(`${label.padEnd(6)} ${rate.toFixed(1).padStart(9)} GetConfig-binds/s  (${n} in ${secs.toFixed(2)} s, ${(1000 / rate).toFixed(3)} ms each)`);
  return rate;
}

try {
  const warm = new CfgPlugin(ctx);
  const entries = warm.entryNames("Path").size;
  const failures = await getConfig(warm); // also creates the per-host SSH keys once
  console.log(`lab repository: ${entries} Cfg entries per bind (${failures} refused: cheetah), ${seconds} s per mode`);
  const cold = await measure("cold", () => new CfgPlugin(ctx));
  const parsesBefore = warm.parseCount;
  const hot = await measure("warm", () => warm);
  console.log(`warm/cold ratio: ${(hot / cold).toFixed(1)}x; parses during the warm run: ${warm.parseCount - parsesBefore}`);
} finally {
  rmSync(repo, { recursive: true, force: true });
}
