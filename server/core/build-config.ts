// One GetConfig: structures → structure validators → bind every entry → goal validators →
// sort, with upstream Core.BuildConfiguration/BindStructure/Bind semantics (failure= attributes).
import type { Logger } from "pino";
import { sortByName } from "../../protocol/documents/configuration.js";
import { el, type XmlElement } from "../../protocol/xml.js";
import type { ClientMetadata } from "./metadata.js";
import type { AnyPlugin } from "./roles.js";
import { pluginsByRole } from "./plugin-roles.js";
import { failureBundle } from "./structure-failure.js";
import type { Timings } from "./timings.js";

export class StructureError extends Error {}

const NONE: readonly AnyPlugin[] = Object.freeze([]);

/** Per-run view of which generator serves which exact names (asked once per tag per run). */
class GeneratorIndex {
  /** Per tag, aligned with `gens`: the names a generator listed (undefined: it answers servesEntry, or serves none). */
  private readonly byTag = new Map<string, Array<Set<string> | undefined>>();
  constructor(
    private readonly gens: AnyPlugin[],
    private readonly meta: ClientMetadata,
  ) {}

  /** The generators serving this exact name; synchronous once the tag's lists are known (no promise per entry). */
  exact(tag: string, name: string): readonly AnyPlugin[] | Promise<readonly AnyPlugin[]> {
    const lists = this.byTag.get(tag) ?? this.load(tag);
    return "then" in lists ? this.pickLater(lists, tag, name) : this.pick(lists, tag, name);
  }

  private async pickLater(lists: Promise<Array<Set<string> | undefined>>, tag: string, name: string): Promise<readonly AnyPlugin[]> {
    return this.pick(await lists, tag, name);
  }

  /** The tag's lists, without a promise when every generator lists its names synchronously (Rules does). */
  private load(tag: string): Array<Set<string> | undefined> | Promise<Array<Set<string> | undefined>> {
    const lists: Array<Set<string> | undefined> = [];
    const gens = this.gens;
    for (let i = 0; i < gens.length; i++) {
      const gen = gens[i]!;
      // A generator that can answer for one name is never asked for the whole list.
      const names = gen.entryNames && !gen.servesEntry ? gen.entryNames(tag, this.meta) : undefined;
      if (names !== undefined && "then" in names) return this.loadFrom(tag, lists, i);
      lists.push(names);
    }
    this.byTag.set(tag, lists);
    return lists;
  }

  /** load() from the first generator whose list comes as a promise. */
  private async loadFrom(tag: string, lists: Array<Set<string> | undefined>, from: number): Promise<Array<Set<string> | undefined>> {
    for (let i = from; i < this.gens.length; i++) {
      const gen = this.gens[i]!;
      lists.push(gen.entryNames && !gen.servesEntry ? await gen.entryNames(tag, this.meta) : undefined);
    }
    this.byTag.set(tag, lists);
    return lists;
  }

  private pick(lists: Array<Set<string> | undefined>, tag: string, name: string): readonly AnyPlugin[] {
    let first = -1;
    let out: AnyPlugin[] | undefined;
    for (let i = 0; i < this.gens.length; i++) {
      const gen = this.gens[i]!;
      if (!(gen.servesEntry ? gen.servesEntry(tag, name, this.meta) : lists[i]?.has(name))) continue;
      if (first < 0) first = i;
      else (out ??= [this.gens[first]!]).push(gen);
    }
    // One generator (every entry of a sound repository): its own one-element list, not a new array.
    return out ?? (first < 0 ? NONE : this.single(first));
  }

  private readonly singles: Array<readonly AnyPlugin[] | undefined> = [];
  private single(i: number): readonly AnyPlugin[] {
    return (this.singles[i] ??= Object.freeze([this.gens[i]!]));
  }
}

function countFailures(e: XmlElement): number {
  let n = e.attrs.failure !== undefined ? 1 : 0;
  const kids = e.children;
  for (let i = 0; i < kids.length; i++) n += countFailures(kids[i]!);
  return n;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Upstream Core.Bind: exact-name generators first, then HandlesEntry; failure= set when none.
 * Synchronous when the generator binds synchronously (no promise per entry for Rules, Cfg files...).
 */
function bind(entry: XmlElement, meta: ClientMetadata, gens: AnyPlugin[], index: GeneratorIndex, log: Logger): void | Promise<void> {
  if (entry.attrs.altsrc !== undefined) return bindAltsrc(entry, meta, gens, index, log);
  const found = index.exact(entry.tag, entry.attrs.name ?? "");
  return "then" in found ? bindLater(found, entry, meta, gens, log) : bindWith(found, entry, meta, gens, log);
}

/** bind() once the generators are known (no closure in bind itself: its frame stays off the heap). */
async function bindLater(found: Promise<readonly AnyPlugin[]>, entry: XmlElement, meta: ClientMetadata, gens: AnyPlugin[], log: Logger): Promise<void> {
  return bindWith(await found, entry, meta, gens, log);
}

/** Binds under the altsrc name first; when that fails, under the entry's own name. */
async function bindAltsrc(entry: XmlElement, meta: ClientMetadata, gens: AnyPlugin[], index: GeneratorIndex, log: Logger): Promise<void> {
  const altsrc = entry.attrs.altsrc!;
  const oldname = entry.attrs.name ?? "";
  entry.attrs.name = altsrc;
  entry.attrs.realname = oldname;
  delete entry.attrs.altsrc;
  try {
    await bind(entry, meta, gens, index, log);
    entry.attrs.name = oldname;
    delete entry.attrs.realname;
    return;
  } catch (e) {
    log.error({ entry: `${entry.tag}:${oldname}`, altsrc, err: errorText(e) }, "binding with altsrc failed; falling back");
    entry.attrs.name = oldname;
  }
  await bind(entry, meta, gens, index, log);
}

function bindWith(exact: readonly AnyPlugin[], entry: XmlElement, meta: ClientMetadata, gens: AnyPlugin[], log: Logger): void | Promise<void> {
  const name = entry.attrs.name ?? "";
  if (exact.length === 1) return exact[0]!.bindEntry!(entry, meta);
  if (exact.length > 1) {
    log.error({ entry: `${entry.tag}:${name}`, generators: exact.map((g) => g.name) }, "entry served by multiple generators");
    // Upstream fails here too, but with a Python AttributeError ('str' object has no attribute
    // 'HandlesEntry'); we name the cause so the admin can remove one of the sources.
    throw new Error(`multiple generators serve ${entry.tag}:${name} (${exact.map((g) => g.name).join(", ")})`);
  }
  const handlers = gens.filter((g) => g.handlesEntry?.(entry, meta));
  if (handlers.length === 1) return handlers[0]!.bindEntry!(entry, meta);
  entry.attrs.failure = "no matching generator";
  throw new Error(`No matching generator: ${entry.tag}:${name}`);
}

const bindTimings = new Map<string, string>();
/** The get_statistics name of one tag's binds (made once per tag, not per entry). */
function bindTiming(tag: string): string {
  let name = bindTimings.get(tag);
  if (name === undefined) bindTimings.set(tag, (name = `Core:Bind:${tag}`));
  return name;
}

/**
 * Upstream Core.BindStructure: Bound* entries lose the prefix and pass through; failures are marked.
 * Returns a promise only from the first entry whose bind has to wait (most structures bind without one).
 */
export function bindStructure(structure: XmlElement, meta: ClientMetadata, gens: AnyPlugin[], index: GeneratorIndex, log: Logger, timings: Timings): Promise<void> | void {
  // The entries as they were when binding started (a generator may add children to the structure).
  // One clock read per entry: an entry's bind ends where the next one's starts (what lies between,
  // a skipped Bound* or failed entry, is a few comparisons).
  return bindFrom(structure.children.slice(), 0, performance.now(), meta, gens, index, log, timings);
}

/** Binds entries[i..]; a promise only from the first entry whose bind waits. */
function bindFrom(entries: XmlElement[], i: number, start: number, meta: ClientMetadata, gens: AnyPlugin[], index: GeneratorIndex, log: Logger, timings: Timings): Promise<void> | void {
  for (; i < entries.length; i++) {
    const entry = entries[i]!;
    if (skipBind(entry)) continue;
    let pending: void | Promise<void> = undefined;
    try {
      pending = bind(entry, meta, gens, index, log);
    } catch (e) {
      bindFailed(entry, meta, log, e);
    }
    if (pending) return bindAfter(pending, entries, i, start, meta, gens, index, log, timings);
    start = timed(timings, entry, start);
  }
}

/** Waits for entry i's bind, then binds the rest. */
async function bindAfter(pending: Promise<void>, entries: XmlElement[], i: number, start: number, meta: ClientMetadata, gens: AnyPlugin[], index: GeneratorIndex, log: Logger, timings: Timings): Promise<void> {
  try {
    await pending;
  } catch (e) {
    bindFailed(entries[i]!, meta, log, e);
  }
  await bindFrom(entries, i + 1, timed(timings, entries[i]!, start), meta, gens, index, log, timings);
}

/** A Bound* entry (the prefix dropped here) or one already failed where the structure was built (structure-failure.ts): nothing to bind. */
function skipBind(entry: XmlElement): boolean {
  if (entry.tag.startsWith("Bound")) {
    entry.tag = entry.tag.slice(5);
    return true;
  }
  return entry.attrs.failure !== undefined;
}

function bindFailed(entry: XmlElement, meta: ClientMetadata, log: Logger, e: unknown): void {
  if (entry.attrs.failure === undefined) entry.attrs.failure = `bind error: ${errorText(e)}`;
  log.error({ client: meta.hostname, entry: `${entry.tag}:${entry.attrs.name ?? ""}`, err: errorText(e) }, "failed to bind entry");
}

/** Records one entry's bind time (upstream's Core:Bind:TAG) and returns the clock reading it ended at. */
function timed(timings: Timings, entry: XmlElement, start: number): number {
  const end = performance.now();
  timings.add(bindTiming(entry.tag), (end - start) / 1e3);
  return end;
}

/** One entry bound outside any configuration, as bcfg2-info's buildfile does; failures are marked on it. */
export async function bindOne(entry: XmlElement, meta: ClientMetadata, opts: BuildOptions): Promise<XmlElement> {
  const gens = pluginsByRole(opts.plugins).generators;
  await bindStructure(el("Independent", {}, [entry]), meta, gens, new GeneratorIndex(gens, meta), opts.logger, opts.timings);
  return entry;
}

/** The generators that name this entry exactly (upstream's `Entries[tag]`), as bcfg2-admin pull looks them up. */
export async function exactGenerators(tag: string, name: string, meta: ClientMetadata, plugins: AnyPlugin[]): Promise<AnyPlugin[]> {
  const gens = pluginsByRole(plugins).generators;
  return [...(await new GeneratorIndex(gens, meta).exact(tag, name))];
}

export interface BuildOptions {
  plugins: AnyPlugin[];
  logger: Logger;
  timings: Timings;
  revision?: string;
  /** Filled in: how many entries failed to bind. */
  report?: { failures: number };
}

/** Builds the <Configuration> tree for a client whose metadata is already built. Throws StructureError. */
export async function buildConfiguration(meta: ClientMetadata, opts: BuildOptions): Promise<XmlElement> {
  const { plugins, logger: log, timings } = opts;
  const config = el("Configuration", { version: "2.0", revision: opts.revision ?? "-1" });
  const roles = pluginsByRole(plugins);
  const gens = roles.generators;
  const index = new GeneratorIndex(gens, meta);
  // Each step timed inline (no closure and promise per step: this runs on every build).
  let structures: XmlElement[] = [];
  let start = performance.now();
  try {
    for (let i = 0; i < roles.structures.length; i++) {
      // Each role awaited only when it answers with a promise (roles.ts).
      const answer = roles.structures[i]!.buildStructures!(meta);
      const built = answer instanceof Promise ? await answer : answer;
      for (let j = 0; j < built.length; j++) structures.push(built[j]!);
    }
  } catch (e) {
    log.error({ client: meta.hostname, err: errorText(e) }, "error in GetStructures");
    throw new StructureError(errorText(e));
  } finally {
    timings.add("Core:GetStructures", (performance.now() - start) / 1e3);
  }
  const have = new Set<string | undefined>();
  for (const s of structures) if (s.tag === "Bundle" || s.tag === "Independent") have.add(s.attrs.name);
  const missing: string[] = [];
  for (const b of meta.bundles) if (!have.has(b)) missing.push(b);
  if (missing.length) {
    log.error({ client: meta.hostname, missing }, "configuration missing bundles");
    // No structure plugin built them (and none said why): the client still learns they are missing.
    for (const b of missing) structures.push(failureBundle(b, `bundle "${b}" was not built by any structure plugin (is Bundler loaded?)`));
  }

  start = performance.now();
  try {
    for (const p of roles.structureValidators) {
      try {
        const pending = p.validateStructures!(meta, structures);
        if (pending) await pending;
      } catch (e) {
        log.error({ plugin: p.name, err: errorText(e) }, "structure validation failed");
      }
    }
  } finally {
    timings.add("Core:validate_structures", (performance.now() - start) / 1e3);
  }

  start = performance.now();
  try {
    for (const s of structures) {
      const pending = bindStructure(s, meta, gens, index, log, timings);
      if (pending) await pending;
      config.children.push(s);
    }
  } finally {
    timings.add("Core:BindStructures", (performance.now() - start) / 1e3);
  }

  start = performance.now();
  try {
    for (const p of roles.goalValidators) {
      try {
        const pending = p.validateGoals!(meta, config);
        if (pending) await pending;
      } catch (e) {
        log.error({ plugin: p.name, err: errorText(e) }, "goal validation failed");
      }
    }
  } finally {
    timings.add("Core:validate_goals", (performance.now() - start) / 1e3);
  }
  if (opts.report) opts.report.failures += countFailures(config);
  sortByName(config);
  return config;
}
