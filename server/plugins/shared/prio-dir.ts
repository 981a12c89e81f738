// A directory of XML files with priority= (upstream PrioDir), shared by Rules and Defaults:
// candidates after Group/Client resolution, highest priority wins, same-priority conflicts fail.
import { join } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import { cloneElement, namesOnlyItself, type XmlElement } from "../../../protocol/xml.js";
import { DirCache, FileCache } from "../../core/file-cache.js";
import type { PluginContext } from "../../core/context.js";
import type { ClientMetadata } from "../../core/metadata.js";
import { descendantsByTag } from "./xml-match.js";
import { SharedMatches, structFileParser, type StructFile } from "./struct-file.js";
import { elementDecryptor } from "./encryption.js";

export interface PrioFile extends StructFile {
  priority: number;
}

/** Upstream's PluginExecutionError: an expected bind failure (Defaults ignores these, not others). */
export class PluginExecutionError extends VacfgError {
  constructor(message: string) {
    super("REPO_FILE", message);
  }
}

function withPriority(file: StructFile): PrioFile {
  const p = file.root.attrs.priority;
  if (p === undefined || !/^\s*[+-]?\d+\s*$/.test(p)) {
    throw new PluginExecutionError(`Got bogus priority ${p ?? "None"} for file ${file.path}`);
  }
  return { ...file, priority: parseInt(p, 10) };
}

/** Whether `attrs` holds only name= and `source`'s first attribute is name=. */
function onlyNameAndNamedFirst(attrs: Record<string, string>, source: Record<string, string>): boolean {
  if (!namesOnlyItself(attrs)) return false;
  for (const k in source) return k === "name";
  return false;
}

/** Python string.Template with "%" as delimiter, safe_substitute(name=..) (upstream NameTemplate). */
function substituteName(value: string, name: string): string {
  return value.replace(/%(%|\{name\}|name(?![A-Za-z0-9_]))/g, (_m, what: string) => (what === "%" ? "%" : name));
}

/** winner(): no file has a candidate for the entry. */
export const NO_MATCH = "";

/** A file as it applies to one client: its candidates by tag (never changed: apply() copies), or why it failed. */
interface Matched {
  file: PrioFile;
  byTag?: Map<string, XmlElement[]>;
  error?: unknown;
}

export abstract class PrioDir {
  protected readonly dir: string;
  private readonly dirCache = new DirCache();
  private readonly files: FileCache<PrioFile>;
  /** Per-metadata-object resolved files: one XMLMatch per file per client run, not per entry. */
  private readonly matched = new WeakMap<ClientMetadata, Matched[]>();
  /** Files as they apply to clients, shared between clients alike (read-only), with their candidates by tag. */
  private readonly shared: SharedMatches;
  /** A shared tree's Matched (candidates by tag), made once per tree, not per build. */
  private readonly matchedTrees = new WeakMap<XmlElement, Matched>();
  /** The last list resolved(), reused while every file resolves to the same Matched (no array per build). */
  private lastResolved: Matched[] = [];
  private readonly regexCache = new Map<string, RegExp>();

  constructor(
    protected readonly ctx: PluginContext,
    folder: string,
  ) {
    this.dir = join(ctx.settings.repo, folder);
    // Upstream's PriorityStructFile is an XMLFileBacked: XIncludes resolved; priority= from the file's own root.
    const parse = structFileParser(ctx.settings.repo, elementDecryptor(ctx.settings.encryption, ctx.logger));
    this.files = new FileCache((text, path, deps) => withPriority(parse(text, path, deps)));
    this.shared = new SharedMatches(ctx.settings.repo);
  }

  protected abstract regexEnabled(): boolean;
  protected abstract replaceNameEnabled(): boolean;

  /** The loaded files (a broken file is logged and left out, as upstream's failed Index). */
  protected loadedFiles(): PrioFile[] {
    // The same list while no file changed, so what is derived from it can be kept (Rules' entry
    // names); a new list is made only from the first file that differs (asked several times per build).
    const last = this.lastLoaded;
    const paths = this.xmlPaths();
    let out: PrioFile[] | undefined;
    let same = 0;
    for (let i = 0; i < paths.length; i++) {
      let pf: PrioFile | undefined;
      try {
        pf = this.files.get(paths[i]!);
      } catch (e) {
        this.ctx.logger.error({ file: paths[i], err: (e as Error).message }, "failed to load file");
      }
      if (!pf) continue;
      if (out === undefined) {
        if (same < last.length && last[same] === pf) {
          same++;
          continue;
        }
        out = last.slice(0, same);
      }
      out.push(pf);
    }
    if (out === undefined) {
      if (same === last.length) return last;
      out = last.slice(0, same);
    }
    this.lastLoaded = out;
    return out;
  }

  private lastLoaded: PrioFile[] = [];
  private readonly pathsOf = new WeakMap<string[], string[]>();

  /** The *.xml files of the directory (the DirCache returns the same listing while it is unchanged). */
  private xmlPaths(): string[] {
    const listing = this.dirCache.list(this.dir);
    let paths = this.pathsOf.get(listing);
    if (!paths) this.pathsOf.set(listing, (paths = listing.filter((f) => f.endsWith(".xml")).map((f) => join(this.dir, f))));
    return paths;
  }

  /**
   * The files resolved for this client; checked against the disk once per metadata object (one run).
   * Clients alike get the same list: a WeakMap's values outlive their build in V8's young-generation
   * collections (kept as if the key were alive), so a new list per build would be promoted and
   * switch its allocation site to old space (deoptimizing the code that inlines it).
   */
  private resolved(meta: ClientMetadata): Matched[] {
    let r = this.matched.get(meta);
    if (!r) this.matched.set(meta, (r = this.resolveFiles(meta)));
    return r;
  }

  private resolveFiles(meta: ClientMetadata): Matched[] {
    const files = this.loadedFiles();
    const last = this.lastResolved;
    let out: Matched[] | undefined;
    for (let i = 0; i < files.length; i++) {
      const m = this.matchFor(files[i]!, meta);
      if (out === undefined) {
        if (i < last.length && last[i] === m) continue;
        out = last.slice(0, i);
      }
      out.push(m);
    }
    if (out === undefined) {
      if (files.length === last.length) return last;
      out = last.slice(0, files.length);
    }
    this.lastResolved = out;
    return out;
  }

  /** The file as it applies to this client, its candidates indexed by tag (once per shared tree). */
  private matchFor(file: PrioFile, meta: ClientMetadata): Matched {
    let tree: XmlElement;
    try {
      tree = this.shared.get(file, meta);
    } catch (error) {
      // A template that fails to render fails the entries this plugin binds (upstream's XMLMatch raises in BindEntry).
      return { file, error };
    }
    let m = this.matchedTrees.get(tree);
    if (!m) this.matchedTrees.set(tree, (m = { file, byTag: descendantsByTag(tree) }));
    return m;
  }

  protected matches(entry: XmlElement, candidate: XmlElement): boolean {
    const name = entry.attrs.name ?? "";
    const cname = candidate.attrs.name ?? "";
    if (entry.tag === candidate.tag && name === cname) return true;
    // Path names match with or without a trailing slash (upstream ticket 967).
    if (entry.tag === "Path" && (name.endsWith("/") || cname.endsWith("/")) && name.replace(/\/+$/, "") === cname.replace(/\/+$/, "")) return true;
    if (this.regexEnabled()) {
      let re = this.regexCache.get(cname);
      if (!re) {
        // re.compile("%s$" % rule).match(name): anchored at the start by match(), at the end by "$".
        re = new RegExp(`^(?:${cname})$`);
        this.regexCache.set(cname, re);
      }
      if (re.test(name)) return true;
    }
    return false;
  }

  handlesEntry(entry: XmlElement, meta: ClientMetadata): boolean {
    const resolved = this.resolved(meta);
    for (let i = 0; i < resolved.length; i++) {
      const cands = resolved[i]!.byTag?.get(entry.tag);
      if (cands) for (let j = 0; j < cands.length; j++) if (this.matches(entry, cands[j]!)) return true;
    }
    return false;
  }

  /** The winning candidate for an entry, or why there is none (upstream BindEntry's two failures). */
  protected select(entry: XmlElement, meta: ClientMetadata): { data: XmlElement } | { failure: string } {
    const r = this.winner(entry, meta);
    if (typeof r !== "string") return { data: r };
    return { failure: r === NO_MATCH ? `No matching source for entry when retrieving attributes for ${entry.tag}:${entry.attrs.name ?? ""}` : r };
  }

  /**
   * The winning candidate, NO_MATCH, or the message of a same-priority conflict (logged). Nothing
   * is allocated for an entry no file names (Defaults asks for every entry of a configuration).
   */
  protected winner(entry: XmlElement, meta: ClientMetadata): XmlElement | string {
    let first: { file: PrioFile; cand: XmlElement } | undefined;
    let matching: Array<{ file: PrioFile; cand: XmlElement }> | undefined;
    // Index loops: Defaults asks for every entry of every build, also before the JIT optimized this.
    const resolved = this.resolved(meta);
    for (let i = 0; i < resolved.length; i++) {
      const { file, byTag, error } = resolved[i]!;
      if (error) throw error;
      const cands = byTag!.get(entry.tag);
      if (cands === undefined) continue;
      for (let j = 0; j < cands.length; j++) {
        const cand = cands[j]!;
        if (!this.matches(entry, cand)) continue;
        if (first === undefined) first = { file, cand };
        else (matching ??= [first]).push({ file, cand });
      }
    }
    if (first === undefined) return NO_MATCH;
    if (matching === undefined) return first.cand;
    const top = Math.max(...matching.map((m) => m.file.priority));
    const atTop = matching.filter((m) => m.file.priority === top);
    if (atTop.length > 1) {
      const msg = `Found conflicting sources with same priority (${top}) for ${entry.tag}:${entry.attrs.name ?? ""} for ${meta.hostname}`;
      this.ctx.logger.error({ files: matching.map((m) => m.file.path) }, msg);
      return msg;
    }
    return atTop[0].cand;
  }

  bindEntry(entry: XmlElement, meta: ClientMetadata): void {
    const r = this.select(entry, meta);
    if ("failure" in r) throw new PluginExecutionError(r.failure);
    this.apply(entry, r.data);
  }

  /** Upstream _apply: non-blank text, copies of children, and every attribute the entry lacks. */
  protected apply(entry: XmlElement, data: XmlElement): void {
    if (this.replaceNameEnabled()) {
      data = cloneElement(data);
      for (const k of Object.keys(data.attrs)) data.attrs[k] = substituteName(data.attrs[k], entry.attrs.name ?? "");
    }
    if (data.text !== undefined && data.text.trim() !== "") entry.text = data.text;
    for (const c of data.children) {
      const copy = cloneElement(c);
      delete copy.tail;
      entry.children.push(copy);
    }
    const attrs = entry.attrs;
    // An entry naming itself only, and a candidate whose first attribute is its name (the usual
    // Rules line): the candidate's attributes copied at once, then the entry's name, the same
    // order as the stores below without one keyed store each (V8 runs those megamorphic).
    if (onlyNameAndNamedFirst(attrs, data.attrs)) {
      const copy = { ...data.attrs };
      copy.name = attrs.name!;
      entry.attrs = copy;
      return;
    }
    for (const k in data.attrs) if (!Object.hasOwn(attrs, k)) attrs[k] = data.attrs[k]!;
  }
}
