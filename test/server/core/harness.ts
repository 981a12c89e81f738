// Test harness for the server core: a temp repository written from a file map, a real SQLite
// store, and a Core wired with the structural plugins (no mocks).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pino } from "pino";
import { Core } from "../../../server/core/core.js";
import type { PluginContext, ServerSettings } from "../../../server/core/context.js";
import type { AnyPlugin, MetadataRole } from "../../../server/core/roles.js";
import { openStore } from "../../../server/store/open-store.js";
import type { Store } from "../../../server/store/store.js";
import { metadataPlugin } from "../../../server/plugins/metadata/index.js";
import { probesPlugin } from "../../../server/plugins/probes.js";
import { contextPlugin } from "../../../server/plugins/context.js";
import { bundlerPlugin } from "../../../server/plugins/bundler.js";
import { rulesPlugin } from "../../../server/plugins/rules.js";
import { defaultsPlugin } from "../../../server/plugins/defaults.js";
import { propertiesPlugin } from "../../../server/plugins/properties.js";
import { decisionsPlugin } from "../../../server/plugins/decisions.js";
import { reportingPlugin } from "../../../server/plugins/reporting.js";
import { groupPatternsPlugin } from "../../../server/plugins/group-patterns.js";

export const STRUCTURAL = { Metadata: metadataPlugin, Probes: probesPlugin, Context: contextPlugin, Bundler: bundlerPlugin, Rules: rulesPlugin, Defaults: defaultsPlugin, Properties: propertiesPlugin, Decisions: decisionsPlugin, Reporting: reportingPlugin, GroupPatterns: groupPatternsPlugin };

export function writeRepo(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
}

export interface Harness {
  dir: string;
  repo: string;
  store: Store;
  core: Core;
  settings: ServerSettings;
  plugins: AnyPlugin[];
  /** A second Core (another "server process") on the same repo and store file. */
  second(): Promise<{ core: Core; store: Store }>;
  cleanup(): Promise<void>;
}

async function makeCore(settings: ServerSettings, store: Store, extra: AnyPlugin[] = []): Promise<{ core: Core; plugins: AnyPlugin[] }> {
  let plugins: AnyPlugin[] = [];
  const logger = pino({ level: "silent" });
  const ctx: PluginContext = {
    settings,
    store,
    logger,
    metadata: () => plugins[0] as unknown as MetadataRole,
    plugins: () => plugins,
  };
  plugins = [...settings.plugins.map((n) => STRUCTURAL[n as keyof typeof STRUCTURAL](ctx)), ...extra];
  const core = new Core(settings, store, logger, plugins);
  await core.init();
  return { core, plugins };
}

export async function harness(files: Record<string, string>, over: Partial<ServerSettings> = {}, extra: AnyPlugin[] = []): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-core-"));
  const repo = join(dir, "repo");
  writeRepo(repo, files);
  const storeUrl = `sqlite:${join(dir, "store.db")}`;
  const store = await openStore(storeUrl);
  const settings: ServerSettings = {
    repo,
    dataDir: dir,
    password: "sitesecret",
    plugins: Object.keys(STRUCTURAL),
    defaultAuth: "cert+password",
    allowedProbeGroups: [],
    ...over,
  };
  const { core, plugins } = await makeCore(settings, store, extra);
  const others: Array<{ core: Core; store: Store }> = [];
  return {
    dir,
    repo,
    store,
    core,
    settings,
    plugins,
    async second() {
      const s2 = await openStore(storeUrl);
      const o = { core: (await makeCore(settings, s2)).core, store: s2 };
      others.push(o);
      return o;
    },
    async cleanup() {
      for (const o of others) await o.store.close();
      await core.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
