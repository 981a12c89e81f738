// XInclude in repository XML (upstream XMLFileBacked._follow_xincludes + lxml's xinclude()): the
// one resolver the plugins and `vacfg lint` share. Included files stay inside the repository.
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import type { XmlElement } from "../../../protocol/xml.js";
import { fileSignature, type Dependencies } from "../../core/file-cache.js";
import { globToRegExp } from "../../../lib/fnmatch.js";
import { parseRepoXml } from "./xml-match.js";

export const XI_NAMESPACE = "http://www.w3.org/2001/XInclude";

/** The file each element of an included tree came from (elements of the including file are absent). */
const sources = new WeakMap<XmlElement, string>();

/** Where an element was written: the included file it came from, else `fallback` (the including file). */
export function sourceOf(e: XmlElement, fallback: string): string {
  return sources.get(e) ?? fallback;
}

function markSource(e: XmlElement, file: string): void {
  sources.set(e, file);
  for (const c of e.children) markSource(c, file);
}

/** A diamond of includes can grow a tree exponentially; no real repository comes near this. */
const MAX_INCLUDES = 10_000;

export interface XIncludeOptions {
  /** The repository root: every included file must resolve (symlinks followed) inside it. */
  repo: string;
  /** Receives every file read or looked for (path → signature; undefined when it was missing). */
  deps?: Dependencies;
}

/** One xi:include element found in a tree, with the namespace prefix in force there. */
export interface XIncludeSite {
  el: XmlElement;
  parent: XmlElement;
  /** The prefix bound to the XInclude namespace at this element ("" for a default namespace). */
  prefix: string;
}

function nsScope(e: XmlElement, inherited: Map<string, string>): Map<string, string> {
  let scope = inherited;
  for (const [k, v] of Object.entries(e.attrs)) {
    if (k !== "xmlns" && !k.startsWith("xmlns:")) continue;
    if (scope === inherited) scope = new Map(inherited);
    scope.set(k === "xmlns" ? "" : k.slice(6), v);
  }
  return scope;
}

function splitTag(tag: string): [string, string] {
  const i = tag.indexOf(":");
  return i < 0 ? ["", tag] : [tag.slice(0, i), tag.slice(i + 1)];
}

/**
 * The xi:include elements of a tree in document order (any prefix bound to the XInclude
 * namespace), not looking inside them (their xi:fallback is only read when it is used).
 */
export function findXIncludes(root: XmlElement): XIncludeSite[] {
  const out: XIncludeSite[] = [];
  const walk = (e: XmlElement, scope: Map<string, string>) => {
    for (const c of e.children) {
      const s = nsScope(c, scope);
      const [prefix, local] = splitTag(c.tag);
      if (local === "include" && s.get(prefix) === XI_NAMESPACE) out.push({ el: c, parent: e, prefix });
      else walk(c, s);
    }
  };
  walk(root, nsScope(root, new Map()));
  return out;
}

const realRepos = new Map<string, string>();
function realRepo(repo: string): string {
  let r = realRepos.get(repo);
  if (r === undefined) {
    try {
      r = realpathSync(repo);
    } catch {
      r = resolve(repo);
    }
    realRepos.set(repo, r);
  }
  return r;
}

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

function where(file: string, e: XmlElement): string {
  return `${file}:${e.line ?? 0}`;
}

function refuse(file: string, e: XmlElement, why: string): never {
  throw new VacfgError("REPO_FILE", `${where(file, e)}: xi:include ${why}`);
}

/**
 * The files an href names (a glob in its last part, upstream's extension, matches several),
 * checked to stay inside the repository; [] when nothing is there. Paths are absolute.
 */
export function resolveHref(includer: string, site: XIncludeSite, opts: XIncludeOptions): string[] {
  const { el } = site;
  const href = el.attrs.href;
  if (href === undefined || href === "") refuse(includer, el, "without href= (a same-document include is not supported)");
  if ((el.attrs.parse ?? "xml") !== "xml") refuse(includer, el, `href="${href}": parse="${el.attrs.parse}" is not supported (only parse="xml")`);
  if (el.attrs.xpointer !== undefined) refuse(includer, el, `href="${href}": xpointer= is not supported`);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(href)) refuse(includer, el, `href="${href}": only relative file paths are allowed, not URLs`);
  if (isAbsolute(href)) refuse(includer, el, `href="${href}": absolute paths are not allowed (use a path relative to the including file)`);
  const root = realRepo(opts.repo);
  const target = resolve(dirname(includer), href);
  const lexicalRoot = resolve(opts.repo);
  if (!inside(lexicalRoot, target) && !inside(root, target)) refuse(includer, el, `href="${href}" points outside the repository`);
  let candidates = [target];
  const base = basename(target);
  if (/[*?[]/.test(base)) {
    const dir = dirname(target);
    opts.deps?.set(dir, fileSignature(dir));
    let names: string[] = [];
    try {
      names = readdirSync(dir).sort();
    } catch {
      // A missing directory matches nothing, like glob.glob.
    }
    const re = globToRegExp(base);
    // glob.glob skips dot files unless the pattern starts with a dot; the includer never includes itself.
    candidates = names.filter((n) => re.test(n) && (base.startsWith(".") || !n.startsWith("."))).map((n) => join(dir, n));
    candidates = candidates.filter((c) => resolve(c) !== resolve(includer));
  }
  const out: string[] = [];
  for (const c of candidates) {
    const sig = fileSignature(c);
    opts.deps?.set(c, sig);
    if (sig === undefined) continue;
    let real: string;
    try {
      real = realpathSync(c);
    } catch {
      continue;
    }
    if (!inside(root, real)) refuse(includer, el, `href="${href}": ${c} resolves outside the repository (symlink to ${real})`);
    out.push(c);
  }
  return out;
}

/** The content an include turns into: each included root, or the xi:fallback's content. */
interface Replacement {
  text?: string;
  nodes: XmlElement[];
}

interface Walk {
  opts: XIncludeOptions;
  /** Real paths of the files being included, outermost first (a repeat is a cycle). */
  stack: string[];
  count: number;
}

function loadIncluded(includer: string, site: XIncludeSite, file: string, w: Walk): XmlElement {
  const real = realpathSync(file);
  if (w.stack.includes(real)) {
    const chain = [...w.stack.slice(w.stack.indexOf(real)), real].map((p) => relative(realRepo(w.opts.repo), p)).join(" → ");
    refuse(includer, site.el, `href="${site.el.attrs.href}": include cycle (${chain})`);
  }
  if (++w.count > MAX_INCLUDES) refuse(includer, site.el, `href="${site.el.attrs.href}": more than ${MAX_INCLUDES} includes`);
  const root = parseRepoXml(readFileSync(file, "utf8"), file);
  markSource(root, file);
  w.stack.push(real);
  // Nested includes are lxml's own: replaced where they stand.
  resolveIn(root, file, w, false);
  w.stack.pop();
  // libxml2 marks an included root from another directory with its path relative to the includer.
  const rel = relative(dirname(includer), file);
  if (dirname(rel) !== "." && root.attrs["xml:base"] === undefined) root.attrs["xml:base"] = rel.split(sep).join("/");
  return root;
}

function fallbackOf(site: XIncludeSite): XmlElement | undefined {
  const tag = site.prefix === "" ? "fallback" : `${site.prefix}:fallback`;
  return site.el.children.find((c) => c.tag === tag);
}

function replacementFor(includer: string, site: XIncludeSite, w: Walk): Replacement {
  const files = resolveHref(includer, site, w.opts);
  if (files.length > 0) return { nodes: files.map((f) => loadIncluded(includer, site, f, w)) };
  const fb = fallbackOf(site);
  if (!fb) refuse(includer, site.el, `href="${site.el.attrs.href}": ${resolve(dirname(includer), site.el.attrs.href!)} does not exist (and there is no xi:fallback)`);
  // The fallback's own includes are relative to the file it is written in.
  const holder: XmlElement = { tag: fb.tag, attrs: {}, children: fb.children, text: fb.text };
  resolveIn(holder, includer, w, false);
  return { text: holder.text, nodes: holder.children };
}

/** Puts `r` where `site.el` stands (lxml), or at the end of the parent (upstream's top-level file). */
function splice(site: XIncludeSite, r: Replacement, atEnd: boolean): void {
  const { parent, el } = site;
  const i = parent.children.indexOf(el);
  parent.children.splice(i, 1);
  const at = atEnd ? parent.children.length : i;
  const before = at > 0 ? parent.children[at - 1] : undefined;
  if (r.text) {
    if (before) before.tail = (before.tail ?? "") + r.text;
    else parent.text = (parent.text ?? "") + r.text;
  }
  const nodes = r.nodes;
  if (el.tail) {
    const last = nodes[nodes.length - 1] ?? (atEnd ? undefined : before);
    if (last) last.tail = (last.tail ?? "") + el.tail;
    else parent.text = (parent.text ?? "") + el.tail;
  }
  parent.children.splice(at, 0, ...nodes);
}

function resolveIn(root: XmlElement, file: string, w: Walk, topLevel: boolean): void {
  for (const site of findXIncludes(root)) splice(site, replacementFor(file, site, w), topLevel);
}

/**
 * Replaces every xi:include of `root` (parsed from `path`) with the root element of the file it
 * names, recursively, in place. As upstream: includes written in `path` itself land at the end of
 * their parent (upstream re-adds them there before lxml runs), nested ones where they stand; an
 * href may end in a glob. A missing file uses the xi:fallback's content; without one, and for a
 * cycle or a path leaving the repository, it is a REPO_FILE error naming file:line and the href.
 */
export function resolveXIncludes(root: XmlElement, path: string, opts: XIncludeOptions): XmlElement {
  const w: Walk = { opts, stack: [], count: 0 };
  try {
    w.stack.push(realpathSync(path));
  } catch {
    w.stack.push(resolve(path));
  }
  resolveIn(root, path, w, true);
  return root;
}

/** parseRepoXml, then resolveXIncludes: the parse every XInclude-aware repository file gets. */
export function parseRepoXmlIncluding(text: string, path: string, opts: XIncludeOptions): XmlElement {
  return resolveXIncludes(parseRepoXml(text, path), path, opts);
}

/** Text + path → tree: parseRepoXml, or an XInclude-aware parse that records what it read. */
export type TreeParser = (text: string, path: string) => XmlElement;

export function includingParser(repo: string, deps?: Dependencies): TreeParser {
  return (text, path) => parseRepoXmlIncluding(text, path, { repo, deps });
}

/** A FileCache parse function for XInclude-aware files of the repository at `repo`. */
export function xincludeParser(repo: string): (text: string, path: string, deps: Dependencies) => XmlElement {
  return (text, path, deps) => includingParser(repo, deps)(text, path);
}
