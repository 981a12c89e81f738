// bcfg2-admin pull into Cfg (upstream CfgEntrySet.list_accept_choices and write_update): where a
// client's current file may be written back, and writing it: the content as a plain Cfg file of
// the chosen specificity, owner/group/mode into the entry's info.xml.
import { statSync } from "node:fs";
import { join } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import { escapeAttr } from "../../../protocol/xml.js";
import { writeFileAtomic } from "../../../lib/atomic-file.js";
import type { ClientMetadata } from "../../core/metadata.js";
import type { PullChoice, PulledEntry } from "../../core/roles.js";
import { checkClientName } from "../../core/client-name.js";
import { confinedPath } from "../shared/confined-path.js";
import { bestMatching, describeSpecificity, specificityMatches } from "../shared/specificity.js";
import type { CfgFile } from "./cfg-files.js";
import { DEFAULT_PATH_METADATA, type FileInfoSource } from "./file-info.js";

type Generator = Extract<CfgFile, { role: "generator" }>;

const PERMS = ["owner", "group", "mode"] as const;

function generatorsOf(files: CfgFile[]): Generator[] {
  return files.filter((f): f is Generator => f.role === "generator");
}

/**
 * Upstream list_accept_choices: the specificity of the file the client gets now, then the client's
 * own host-specific file when that is not it. An entry with no file for the client (only key or
 * certificate creators, or files for other groups) has nowhere to go, as upstream says.
 */
export function cfgPullChoices(name: string, files: CfgFile[], meta: ClientMetadata): PullChoice[] {
  const generators = generatorsOf(files);
  if (!generators.some((g) => specificityMatches(g.spec, meta))) throw new VacfgError("PULL", `No base file found for ${name}`);
  const out: PullChoice[] = [];
  try {
    out.push(bestMatching(generators, meta)!.spec);
  } catch {
    // two files of equal specificity: only the client's own file is a safe place
  }
  if (out[0]?.kind !== "host") out.push({ kind: "host", hostname: meta.hostname });
  return out;
}

/** Upstream build_filename: BASENAME, BASENAME.G##_group or BASENAME.H_host. */
export function pullFileName(basename: string, choice: PullChoice): string {
  if (choice.kind === "all") return basename;
  if (choice.kind === "group") return `${basename}.G${String(choice.prio).padStart(2, "0")}_${choice.group}`;
  return `${basename}.H_${checkClientName(choice.hostname)}`;
}

/** Upstream's info.xml as lxml pretty-prints it: one unconditional <Info>. */
function infoXmlText(attrs: Array<[string, string]>): string {
  return `<FileInfo>\n  <Info ${attrs.map(([k, v]) => `${k}="${escapeAttr(v)}"`).join(" ")}/>\n</FileInfo>\n`;
}

export interface CfgPullContext {
  dir: string;
  basename: string;
  files: CfgFile[];
  /** The parsed info file of the entry (info.xml before :info), if any. */
  info?: FileInfoSource;
}

/**
 * Upstream write_update. Checked before anything is written: a file of that specificity that is
 * not plain (a template, an encrypted file, generated authorized_keys) is refused, where upstream
 * refuses Genshi and Cheetah only and writes a plain file beside the others (a .crypt's plaintext
 * among them); an info.xml with Group/Client/Path conditionals is refused when the permissions
 * change (upstream replaces it with one <Info>, dropping every other client's settings).
 * info.xml is written only when owner, group or mode change; its other attributes are kept
 * (upstream resets them to the defaults).
 */
export function cfgAcceptPullData(ctx: CfgPullContext, choice: PullChoice, entry: PulledEntry, meta: ClientMetadata): string[] {
  const written: string[] = [];
  let target: string | undefined;
  if (entry.content !== undefined) {
    const sameSpec = generatorsOf(ctx.files).filter((g) => sameTarget(g.spec, choice));
    const other = sameSpec.find((g) => g.kind !== "plain" || g.encrypted);
    if (other) {
      const kind = other.encrypted ? "encrypted" : other.kind;
      throw new VacfgError("PULL", `Cfg: Unable to pull data for ${kind} types: ${other.path} serves ${entry.name} (${describeSpecificity(choice)}); edit it by hand`);
    }
    target = confinedPath(ctx.dir, pullFileName(ctx.basename, choice));
  }
  const info = infoUpdate(ctx, entry, meta);
  if (target !== undefined) {
    writeFileAtomic(target, entry.content!, { mode: modeOf(target) });
    written.push(target);
  }
  if (info) {
    const path = join(ctx.dir, "info.xml");
    writeFileAtomic(path, info, { mode: modeOf(path) });
    written.push(path);
  }
  return written;
}

function sameTarget(a: PullChoice, b: PullChoice): boolean {
  if (a.kind === "group" && b.kind === "group") return a.group === b.group && a.prio === b.prio;
  if (a.kind === "host" && b.kind === "host") return a.hostname === b.hostname;
  return a.kind === b.kind;
}

/** An existing file keeps its mode; a new one is 0644 like upstream's open(name, 'w'). */
function modeOf(path: string): number {
  try {
    return statSync(path).mode & 0o7777;
  } catch {
    return 0o644;
  }
}

/** The new info.xml text, or undefined when owner, group and mode stay as the client gets them now. */
function infoUpdate(ctx: CfgPullContext, entry: PulledEntry, meta: ClientMetadata): string | undefined {
  const pulled = PERMS.filter((k) => entry[k] !== undefined && entry[k] !== "");
  if (pulled.length === 0) return undefined;
  const attrs = new Map<string, string>(DEFAULT_PATH_METADATA);
  if (ctx.info) for (const [k, v] of ctx.info.attributesFor(entry.name, meta)) attrs.set(k, v);
  if (pulled.every((k) => sameMode(k, attrs.get(k), entry[k]!))) return undefined;
  if (ctx.info?.conditional) {
    const want = pulled.map((k) => `${k}="${entry[k]}"`).join(" ");
    throw new VacfgError("PULL", `${ctx.info.path} holds Group/Client/Path conditionals; set ${want} for ${meta.hostname} there by hand`);
  }
  for (const k of pulled) attrs.set(k, entry[k]!);
  return infoXmlText([...attrs]);
}

/** Modes compare as numbers ("644" is "0644"); owner and group as text. */
function sameMode(key: string, a: string | undefined, b: string): boolean {
  if (key !== "mode") return a === b;
  return a !== undefined && /^[0-7]+$/.test(a) && /^[0-7]+$/.test(b) && Number.parseInt(a, 8) === Number.parseInt(b, 8);
}
