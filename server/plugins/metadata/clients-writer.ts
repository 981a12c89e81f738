// Safe edits of clients.xml: text-level changes (one new <Client/> line, or one attribute of one
// element) that keep the admin's comments and layout, written by lib/atomic-file.ts. Edits
// are group-committed in-process (every edit queued while a write is under way goes into the next
// single write) and serialized across processes (an O_EXCL lock file, as upstream). A file of
// 100,000 clients is megabytes: a batch costs one pass over the text, not one per edit, and the
// write's fsync happens off the event loop (new edits queue meanwhile and share the next write).
import { readFileSync, statSync } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import { removeStaleTemps, replaceTailAtomic, writeFileAtomicAsync } from "../../../lib/atomic-file.js";
import { withFileLock } from "../../../lib/file-lock.js";
import { VacfgError } from "../../../protocol/errors.js";
import { escapeAttr, decodeEntities } from "../../../protocol/xml.js";
import { fileSignature } from "../../core/file-cache.js";
import { noteRepoWrite } from "../../core/repo-trust.js";

/**
 * One change to clients.xml: add a client unless it exists (by name or alias), or set one
 * attribute of an existing client. When that client is absent, `absent` says what to do: fail
 * (the default, METADATA), skip, or insert it with these attributes.
 */
export type ClientsEdit =
  | { op: "insert"; name: string; attrs: Array<[string, string]> }
  | { op: "remove"; name: string }
  | { op: "set"; name: string; attr: string; value: string; absent?: "skip" | Array<[string, string]> };

/** The text with `e` applied. */
export function editText(text: string, e: ClientsEdit): string {
  if (e.op === "insert") return insertClient(text, e.name, e.attrs);
  if (e.op === "remove") return removeClient(text, e.name);
  if (e.absent !== undefined && !clientExistsInText(text, e.name)) return e.absent === "skip" ? text : insertClient(text, e.name, e.absent);
  return setClientAttr(text, e.name, e.attr, e.value);
}

/**
 * Told after each durable write, under the lock: the file's signatures (server/core/file-cache.ts)
 * before and after, and the edits that changed it, in order. Lets a process update its parsed
 * model instead of re-parsing a file of thousands of clients after its own writes.
 */
export type ClientsCommitHook = (before: string, after: string, applied: ClientsEdit[]) => void;

interface PendingEdit {
  edit: ClientsEdit;
  hook?: ClientsCommitHook;
  resolve: (changed: boolean) => void;
  reject: (e: unknown) => void;
}

const pending = new Map<string, PendingEdit[]>();
const draining = new Set<string>();

/**
 * Replaces clients.xml through lib's crash-safe writer, keeping the file's mode: with `text`, or (`tail`)
 * with the current file up to a byte offset followed by new text. `renamed` runs as the new file takes
 * its place. Called under the lock.
 */
async function replaceClientsXml(path: string, content: { text: string } | { tail: { byte: number; text: string } }, renamed: () => void): Promise<void> {
  let mode = 0o644;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    /* a new file */
  }
  // Only a writer holding the lock writes here, so any temporary beside the file is a killed writer's.
  removeStaleTemps(path);
  const placed = (): void => (noteRepoWrite(), renamed());
  try {
    if ("text" in content) await writeFileAtomicAsync(path, content.text, { mode }, placed);
    else await replaceTailAtomic(path, content.tail.byte, content.tail.text, { mode }, placed);
  } finally {
    noteRepoWrite(); // cached parses are checked again before the watcher's event arrives
  }
}

interface TagSpan {
  start: number;
  end: number; // index just after '>'
  text: string;
}

const ATTR_RE = /([A-Za-z_:][\w:.-]*)\s*=\s*("([^"]*)"|'([^']*)')/g;

/** Start tags `<Tag ...>` outside comments, CDATA and processing instructions, lazily in order. */
function* startTags(text: string, tag: string): Generator<TagSpan> {
  const re = new RegExp(`<!--[\\s\\S]*?-->|<!\\[CDATA\\[[\\s\\S]*?\\]\\]>|<\\?[\\s\\S]*?\\?>|<${tag}(?=[\\s/>])(?:\\s+[A-Za-z_:][\\w:.-]*\\s*=\\s*(?:"[^"]*"|'[^']*'))*\\s*/?>`, "g");
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0].startsWith(`<${tag}`)) yield { start: m.index, end: m.index + m[0].length, text: m[0] };
  }
}

function firstStartTag(text: string, tag: string): TagSpan | undefined {
  for (const t of startTags(text, tag)) return t;
  return undefined;
}

function attrsOf(tagText: string): Map<string, { value: string; index: number; length: number }> {
  const out = new Map<string, { value: string; index: number; length: number }>();
  for (const m of tagText.matchAll(ATTR_RE)) {
    out.set(m[1], { value: decodeEntities(m[3] ?? m[4] ?? ""), index: m.index!, length: m[0].length });
  }
  return out;
}

/** Finds the <Client> start tag named `name` (or having an <Alias name=`name`>), case-insensitively. */
function findClientTag(text: string, name: string): TagSpan | undefined {
  const lname = name.toLowerCase();
  // Called once per edit on files of thousands of clients: skip the scan when the name cannot be
  // there (no character references that could spell it), and parse only tags that mention it.
  const plain = /^[\w.-]+$/.test(lname) && !text.includes("&#");
  if (plain && !text.toLowerCase().includes(lname)) return undefined;
  const names = (t: TagSpan): boolean => (!plain || t.text.toLowerCase().includes(lname)) && attrsOf(t.text).get("name")?.value.toLowerCase() === lname;
  const tags = [...startTags(text, "Client")];
  const hit = tags.find(names);
  if (hit) return hit;
  for (const a of startTags(text, "Alias")) {
    if (!names(a)) continue;
    // The alias belongs to the nearest <Client> start tag before it.
    const owner = tags.filter((t) => t.start < a.start).pop();
    if (owner) return owner;
  }
  return undefined;
}

function formatAttrs(attrs: Array<[string, string]>): string {
  return attrs.map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join("");
}

function clientLine(name: string, attrs: Array<[string, string]>): string {
  return `<Client${formatAttrs([["name", name], ...attrs])}/>`;
}

/** Text with a new `<Client name=.. attrs/>` line before `</Clients>`; unchanged if the client exists. */
export function insertClient(text: string, name: string, attrs: Array<[string, string]>): string {
  return findClientTag(text, name) ? text : insertLines(text, [clientLine(name, attrs)]);
}

/** The indentation of the file's first client (new lines get it), or two spaces. */
function indentOf(text: string): string {
  const existing = firstStartTag(text, "Client");
  if (existing) {
    const bol = text.lastIndexOf("\n", existing.start) + 1;
    const lead = text.slice(bol, existing.start);
    if (/^[ \t]*$/.test(lead)) return lead;
  }
  return "  ";
}

/** Where new lines go when `</Clients>` begins its own line: the start of that line. */
function lineBeforeClose(text: string): number | undefined {
  const close = text.lastIndexOf("</Clients>");
  if (close < 0) return undefined;
  const bol = text.lastIndexOf("\n", close) + 1;
  return /^[ \t]*$/.test(text.slice(bol, close)) ? bol : undefined;
}

/** Text with these `<Client/>` lines before `</Clients>`, in order, indented as the file's first client. */
function insertLines(text: string, lines: string[]): string {
  if (lines.length === 0) return text;
  const indent = indentOf(text);
  const block = lines.map((l) => `${indent}${l}\n`).join("");
  const bol = lineBeforeClose(text);
  if (bol !== undefined) return `${text.slice(0, bol)}${block}${text.slice(bol)}`;
  const close = text.lastIndexOf("</Clients>");
  if (close >= 0) return `${text.slice(0, close)}\n${block}${text.slice(close)}`;
  const selfClosed = firstStartTag(text, "Clients");
  if (selfClosed && selfClosed.text.endsWith("/>")) {
    const open = selfClosed.text.replace(/\s*\/>$/, ">");
    return `${text.slice(0, selfClosed.start)}${open}\n${block}</Clients>${text.slice(selfClosed.end)}`;
  }
  throw new VacfgError("REPO_FILE", "clients.xml has no <Clients> root element");
}

/** Text with attribute `attr` of client `name` set to `value` (changed in place or appended). */
export function setClientAttr(text: string, name: string, attr: string, value: string): string {
  const tag = findClientTag(text, name);
  if (!tag) throw new VacfgError("METADATA", `Client "${name}" does not exist`);
  const attrs = attrsOf(tag.text);
  const cur = attrs.get(attr);
  let newTag: string;
  if (cur) {
    if (cur.value === value) return text;
    newTag = tag.text.slice(0, cur.index) + `${attr}="${escapeAttr(value)}"` + tag.text.slice(cur.index + cur.length);
  } else {
    const m = /\s*\/?>$/.exec(tag.text)!;
    newTag = tag.text.slice(0, m.index) + ` ${attr}="${escapeAttr(value)}"` + tag.text.slice(m.index);
  }
  return text.slice(0, tag.start) + newTag + text.slice(tag.end);
}

/**
 * Text without client `name` (by its name= only, not an alias): its `<Client …/>` element, or
 * `<Client …>…</Client>` with its aliases, and the line it stood on when nothing else was there.
 */
export function removeClient(text: string, name: string): string {
  const lname = name.toLowerCase();
  const tag = [...startTags(text, "Client")].find((t) => attrsOf(t.text).get("name")?.value.toLowerCase() === lname);
  if (!tag) throw new VacfgError("METADATA", `Client "${name}" does not exist in clients.xml (an alias or a client of an included file is not removed)`);
  let end = tag.end;
  if (!tag.text.endsWith("/>")) {
    const close = text.indexOf("</Client>", tag.end);
    if (close < 0) throw new VacfgError("REPO_FILE", `clients.xml: <Client name="${name}"> is not closed`);
    end = close + "</Client>".length;
  }
  const bol = text.lastIndexOf("\n", tag.start - 1) + 1;
  const eol = text.indexOf("\n", end);
  const lineEnd = eol < 0 ? text.length : eol + 1;
  if (/^[ \t]*$/.test(text.slice(bol, tag.start)) && /^[ \t]*\r?\n?$/.test(text.slice(end, lineEnd))) return text.slice(0, bol) + text.slice(lineEnd);
  return text.slice(0, tag.start) + text.slice(end);
}

export function clientExistsInText(text: string, name: string): boolean {
  return findClientTag(text, name) !== undefined;
}

/**
 * Applies `edit` to the current text of clients.xml (re-read under the lock, so concurrent
 * writers in other processes are not lost) and writes the result atomically if it changed;
 * resolves once the write is durable, with whether this edit changed the text. The file is
 * created as `<Clients>\n</Clients>\n` when missing. Every rewrite makes each server process
 * re-parse the file, so edits that arrive together share one write: the first registrations of a
 * thousand new clients cost tens of writes instead of thousands.
 */
export function editClientsXml(path: string, edit: ClientsEdit, hook?: ClientsCommitHook): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const p: PendingEdit = { edit, resolve, reject, ...(hook ? { hook } : {}) };
    const queue = pending.get(path);
    if (queue) queue.push(p);
    else pending.set(path, [p]);
    if (!draining.has(path)) void drain(path);
  });
}

async function drain(path: string): Promise<void> {
  draining.add(path);
  try {
    // Let the requests already received queue their edits before the first write.
    await nextTurn();
    for (let batch = pending.get(path); batch; batch = pending.get(path)) {
      pending.delete(path);
      let outcomes: Array<{ changed: boolean } | { error: unknown }>;
      try {
        outcomes = await withFileLock(path, () => applyBatch(path, batch!));
      } catch (e) {
        for (const p of batch) p.reject(e);
        continue;
      }
      batch.forEach((p, i) => {
        const o = outcomes[i];
        if ("error" in o) p.reject(o.error);
        else p.resolve(o.changed);
      });
      await nextTurn();
    }
  } finally {
    draining.delete(path);
  }
}

/**
 * The edits of one batch applied to one text: inserts (nearly all edits: registrations) check a
 * name index built once and are spliced in together; any other edit first places the pending
 * inserts, then edits the text as editText does. The result equals editText applied edit by edit.
 */
export class BatchEditor {
  private inserts: string[] = [];
  /** Lower-cased names and aliases in the text plus pending inserts; built on the first insert. */
  private names?: Set<string>;

  constructor(
    private base: string,
    names?: Set<string>,
  ) {
    this.names = names;
  }

  /** The name index of text(), when one is built (a later batch on that text can start from it). */
  nameIndex(): Set<string> | undefined {
    return this.names;
  }

  /** Applies `e`; true when it changed the text. Throws (changing nothing) as editText does. */
  apply(e: ClientsEdit): boolean {
    if (e.op !== "insert") {
      const text = this.text();
      const next = editText(text, e);
      if (next === text) return false;
      this.base = next;
      this.names = undefined; // a remove or an insert of an absent client changed the names
      return true;
    }
    const names = (this.names ??= namesIn(this.base));
    const lname = e.name.toLowerCase();
    if (names.has(lname)) return false;
    names.add(lname);
    this.inserts.push(clientLine(e.name, e.attrs));
    return true;
  }

  text(): string {
    if (this.inserts.length > 0) {
      this.base = insertLines(this.base, this.inserts);
      this.inserts = [];
    }
    return this.base;
  }
}

/** Every client name and alias in the text, lower-cased (what findClientTag would find). */
function namesIn(text: string): Set<string> {
  const out = new Set<string>();
  const add = (t: TagSpan): void => {
    const name = attrsOf(t.text).get("name")?.value;
    if (name !== undefined) out.add(name.toLowerCase());
  };
  let firstClient = Infinity;
  for (const t of startTags(text, "Client")) {
    firstClient = Math.min(firstClient, t.start);
    add(t);
  }
  // An alias counts when a <Client> comes before it (its owner).
  for (const t of startTags(text, "Alias")) if (t.start > firstClient) add(t);
  return out;
}

/**
 * What this process knows of the file it last wrote, by the file's signature after that write: the
 * names in it, and where new lines go (the byte offset of the line holding `</Clients>`, the text
 * from there to the end, the indentation). While the file keeps that signature, a batch of new
 * clients is checked against the names and written as a copy of the file up to that offset plus
 * the new lines: no read, no parse, no copy of the file in memory.
 */
interface Written {
  sig: string;
  names?: Set<string>;
  append?: { byte: number; rest: string; indent: string };
}
const lastWritten = new Map<string, Written>();

type Outcomes = Array<{ changed: boolean } | { error: unknown }>;

/** One read-modify-write for a batch; an edit that throws is left out and fails alone. */
async function applyBatch(path: string, batch: PendingEdit[]): Promise<Outcomes> {
  const before = fileSignature(path);
  const mine = lastWritten.get(path);
  // Taken, not shared: a batch changes the name index, and a write that fails must leave no trace.
  lastWritten.delete(path);
  const known = before !== undefined && mine?.sig === before ? mine : undefined;
  if (known?.names && known.append && batch.every((p) => p.edit.op === "insert")) return appendClients(path, batch, before!, known.names, known.append);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    text = "<Clients>\n</Clients>\n";
  }
  // A hand edit between the stat and the read: the signature does not describe the text read.
  const stable = before !== undefined && fileSignature(path) === before;
  const editor = new BatchEditor(text, known?.names);
  const applied: ClientsEdit[] = [];
  const outcomes = batch.map((p) => {
    try {
      const changed = editor.apply(p.edit);
      if (changed) applied.push(p.edit);
      return { changed };
    } catch (error) {
      return { error };
    }
  });
  const next = editor.text();
  if (next !== text || before === undefined) {
    await replaceClientsXml(path, { text: next }, () => {
      const after = fileSignature(path);
      if (after === undefined) return;
      const bol = lineBeforeClose(next);
      const append = bol === undefined ? undefined : { byte: Buffer.byteLength(next.slice(0, bol)), rest: next.slice(bol), indent: indentOf(next) };
      lastWritten.set(path, { sig: after, names: editor.nameIndex(), ...(append ? { append } : {}) });
      if (stable) for (const hook of new Set(batch.map((p) => p.hook))) hook?.(before, after, applied);
    });
  }
  return outcomes;
}

/** A batch of inserts into the file this process last wrote: new lines written after the last client, as insertLines places them. */
async function appendClients(path: string, batch: PendingEdit[], before: string, names: Set<string>, at: NonNullable<Written["append"]>): Promise<Outcomes> {
  const lines: string[] = [];
  const applied: ClientsEdit[] = [];
  const outcomes = batch.map((p) => {
    const e = p.edit as Extract<ClientsEdit, { op: "insert" }>;
    const lname = e.name.toLowerCase();
    if (names.has(lname)) return { changed: false };
    names.add(lname);
    lines.push(`${at.indent}${clientLine(e.name, e.attrs)}\n`);
    applied.push(e);
    return { changed: true };
  });
  if (lines.length === 0) {
    lastWritten.set(path, { sig: before, names, append: at });
    return outcomes;
  }
  const block = lines.join("");
  await replaceClientsXml(path, { tail: { byte: at.byte, text: block + at.rest } }, () => {
    const after = fileSignature(path);
    if (after === undefined) return;
    lastWritten.set(path, { sig: after, names, append: { ...at, byte: at.byte + Buffer.byteLength(block) } });
    for (const hook of new Set(batch.map((p) => p.hook))) hook?.(before, after, applied);
  });
  return outcomes;
}
