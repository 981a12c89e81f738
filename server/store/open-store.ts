// Opens the store a URL names (sqlite:/path, a plain path, or postgres://...) and brings its schema up to date.
import { VacfgError } from "../../protocol/errors.js";
import type { Store } from "./store.js";
import { SqliteStore } from "./sqlite-store.js";
import { PostgresStore } from "./postgres-store.js";

/** The SQLite file path a URL names, or undefined when it names PostgreSQL. */
export function sqlitePath(url: string): string | undefined {
  if (/^postgres(ql)?:\/\//i.test(url)) return undefined;
  let path = url;
  if (path.startsWith("sqlite://")) path = path.slice("sqlite://".length);
  else if (path.startsWith("sqlite:")) path = path.slice("sqlite:".length);
  if (!path) throw new VacfgError("STORE", `store URL "${url}" names no SQLite file`);
  return path;
}

export async function openStore(url: string): Promise<Store> {
  const path = sqlitePath(url);
  const store: Store = path === undefined ? new PostgresStore(url) : SqliteStore.open(path);
  try {
    await store.migrate();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}
