// openCore: the store and the plugins loaded into a Core, without any network front. Used by
// the HTTPS server and by admin commands (`vacfg info`) that ask the core directly.
import type { Logger } from "pino";
import type { ServerSettings } from "../core/context.js";
import type { Core } from "../core/core.js";
import { existsSync } from "node:fs";
import { openStore, sqlitePath } from "../store/open-store.js";
import type { Store } from "../store/store.js";
import { checkRepositoryDir } from "./repository-check.js";
import { startCore } from "./start-core.js";

export interface OpenedCore {
  core: Core;
  store: Store;
  /** Closes the core's plugins, then the store. */
  close(): Promise<void>;
}

export interface OpenCoreOptions {
  /**
   * Inspection: nothing is written (settings.readOnly), and a SQLite store that does not exist
   * yet is not created (an empty one in memory stands for it).
   */
  readOnly?: boolean;
}

/** Refuses (REPO_MISSING) a repository that is missing, empty, or whose Metadata does not load. */
export async function openCore(settings: ServerSettings, storeUrl: string, logger: Logger, opts: OpenCoreOptions = {}): Promise<OpenedCore> {
  checkRepositoryDir(settings.repo);
  if (opts.readOnly) {
    settings = { ...settings, readOnly: true };
    const file = sqlitePath(storeUrl);
    if (file !== undefined && !existsSync(file)) storeUrl = ":memory:";
  }
  const store = await openStore(storeUrl);
  let core: Core;
  try {
    // A one-shot inspection builds once: no build cache, no repository watch.
    core = await startCore(settings, store, logger, { buildCache: !opts.readOnly });
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return {
    core,
    store,
    close: async () => {
      await core.close();
      await store.close();
    },
  };
}
