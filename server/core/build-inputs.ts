// What a configuration build depends on beyond the repository's files and the client's own
// metadata (both of which the build cache tracks by itself): a generator that reads other state
// (the list of clients, another client's metadata) records it here while it binds, and the build
// cache reads it again before it reuses that build. Client metadata itself (the Metadata plugin and
// the connectors) may be built from repository files and the store's registrations and probe data
// only: the cache reuses it while the repository generation and Store.metadataVersion stay put.
import type { ClientMetadata } from "./metadata.js";

export interface BuildInput {
  /** Reads the input's current value (compared as a string with the value the build saw). */
  read(): Promise<string>;
  value: string;
  /**
   * Computed from repository files and the store's client data alone (registrations, probe data:
   * other clients' names or metadata), so unchanged while neither moved: not read again then.
   */
  fromRepositoryAndStore?: boolean;
}

export interface InputOptions {
  /** See BuildInput.fromRepositoryAndStore. */
  fromRepositoryAndStore?: boolean;
}

const recorded = new WeakMap<ClientMetadata, Map<string, BuildInput>>();
const uncacheable = new WeakMap<ClientMetadata, string>();

/** Reads an input for the build of `meta`, records it under `name`, and returns its value. */
export async function recordBuildInput(meta: ClientMetadata, name: string, read: () => Promise<string>, options: InputOptions = {}): Promise<string> {
  const value = await read();
  recordBuildInputValue(meta, name, value, read, options);
  return value;
}

/** Records an input whose current value the caller already has (`read` gives it again later). */
export function recordBuildInputValue(meta: ClientMetadata, name: string, value: string, read: () => Promise<string>, options: InputOptions = {}): void {
  let inputs = recorded.get(meta);
  if (!inputs) recorded.set(meta, (inputs = new Map()));
  inputs.set(name, { read, value, ...(options.fromRepositoryAndStore ? { fromRepositoryAndStore: true } : {}) });
}

/** The build of `meta` read something that cannot be checked again cheaply: it is never reused. */
export function markUncacheable(meta: ClientMetadata, why: string): void {
  uncacheable.set(meta, why);
}

export function buildInputsOf(meta: ClientMetadata): { inputs: BuildInput[]; uncacheable?: string } {
  return { inputs: [...(recorded.get(meta)?.values() ?? [])], uncacheable: uncacheable.get(meta) };
}

/**
 * A string equal for two values exactly when they hold the same data: own enumerable properties
 * (with the class name), arrays, Sets and Maps in order, primitives. Functions and methods are
 * taken to compute from the data beside them (Properties' XMLMatch() from its xdata and the
 * metadata), so they count as present, not by what they return. Throws on a cycle (such metadata
 * is not cached).
 */
export function fingerprint(value: unknown): string {
  const out: string[] = [];
  const stack = new Set<object>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== "object") {
      out.push(typeof v === "string" ? JSON.stringify(v) : typeof v === "undefined" ? "u" : typeof v === "bigint" ? `${v}n` : typeof v === "function" ? "f" : String(v));
      return;
    }
    if (stack.has(v)) throw new Error("fingerprint: cycle");
    stack.add(v);
    if (Array.isArray(v)) {
      out.push("[");
      for (const x of v) (walk(x), out.push(","));
      out.push("]");
    } else if (v instanceof Set) {
      out.push("S[");
      for (const x of v) (walk(x), out.push(","));
      out.push("]");
    } else if (v instanceof Map) {
      out.push("M[");
      for (const [k, x] of v) (walk(k), out.push(":"), walk(x), out.push(","));
      out.push("]");
    } else if (v instanceof RegExp || v instanceof Date) {
      out.push(`${v.constructor.name}(${String(v)})`);
    } else {
      out.push((v.constructor?.name ?? "") + "{");
      for (const k of Object.keys(v)) {
        out.push(JSON.stringify(k), ":");
        walk((v as Record<string, unknown>)[k]);
        out.push(",");
      }
      out.push("}");
    }
    stack.delete(v);
  };
  walk(value);
  return out.join("");
}
