// A Core on a store that is already open: the plugins instantiated and initialised. Kept apart
// from open-core.ts (which opens stores by URL, and so loads the SQLite and PostgreSQL drivers) so
// that local mode (memory store) bundles without the native SQLite module.
import type { Logger } from "pino";
import type { ServerSettings } from "../core/context.js";
import { Core } from "../core/core.js";
import { instantiatePlugins } from "../plugins/registry.js";
import type { CoreStore } from "../store/store.js";
import { checkRepositoryDir } from "./repository-check.js";

/**
 * Refuses (REPO_MISSING) a repository that is missing, empty, or whose Metadata does not load.
 * `buildCache: false` for a one-shot use (no build cache, no repository watch). On failure the
 * core is closed; the store stays the caller's.
 */
export async function startCore<S extends CoreStore>(settings: ServerSettings, store: S, logger: Logger, o: { buildCache?: boolean } = {}): Promise<Core<S>> {
  checkRepositoryDir(settings.repo);
  let core: Core<S> | undefined;
  try {
    core = new Core(settings, store, logger, instantiatePlugins(settings, store, logger), { buildCache: o.buildCache ?? true });
    await core.init();
    return core;
  } catch (e) {
    await core?.close().catch(() => undefined);
    throw e;
  }
}
