// The entry model both ends share: the Bcfg2 entry tags, their typed views, and the
// identity (tag + name) used to match entries between configuration, client and statistics.
import { ProtocolError } from "./errors.js";
import type { XmlElement } from "./xml.js";

export const ENTRY_TAGS = ["Path", "Package", "Service", "POSIXUser", "POSIXGroup", "Action", "SEBoolean", "SEModule", "Sysctl"] as const;
export type EntryTag = (typeof ENTRY_TAGS)[number];

export const PATH_TYPES = ["file", "directory", "symlink", "hardlink", "permissions", "nonexistent", "device", "augeas", "ignore", "vcs"] as const;
export type PathType = (typeof PATH_TYPES)[number];

/** `BoundPath` etc. arrive already bound inside bundles; their abstract tag is the part after "Bound". */
export function unboundTag(tag: string): string {
  return tag.startsWith("Bound") ? tag.slice(5) : tag;
}

/** Stable identity of an entry: "Path:/etc/motd". */
export function entryKey(e: { tag: string; attrs: { name?: string } }): string {
  return `${unboundTag(e.tag)}:${e.attrs.name ?? ""}`;
}

export interface PathEntry {
  name: string;
  type: PathType;
  owner?: string;
  group?: string;
  mode?: string;
  /** For symlinks and hardlinks: `to` (Bcfg2 1.3+); `target` is accepted as a legacy spelling. */
  to?: string;
  important: boolean;
  paranoid: boolean;
  sensitive: boolean;
  recursive: boolean;
  /** Decoded content for type="file"; undefined when the entry carries none. */
  content?: Buffer;
  empty: boolean;
  devType?: string;
  major?: number;
  minor?: number;
  failure?: string;
}

export interface PackageEntry {
  name: string;
  type: string;
  /** "auto" | "any" | an exact version. */
  version: string;
  instances: Array<{ version?: string; arch?: string }>;
  failure?: string;
}

export interface ServiceEntry {
  name: string;
  type: string;
  status: "on" | "off" | "ignore";
  restart: "true" | "false" | "interactive";
  failure?: string;
}

export interface PosixUserEntry {
  name: string;
  uid?: number;
  group?: string;
  gecos?: string;
  home?: string;
  shell?: string;
  memberOf: string[];
  failure?: string;
}

export interface PosixGroupEntry {
  name: string;
  gid?: number;
  failure?: string;
}

export interface ActionEntry {
  name: string;
  command: string;
  when: "always" | "modified";
  timing: "pre" | "post" | "both";
  status: "check" | "ignore";
  failure?: string;
}

function req(e: XmlElement, attr: string): string {
  const v = e.attrs[attr];
  if (v === undefined || v === "") throw new ProtocolError("DOC_INVALID", `<${e.tag} name="${e.attrs.name ?? ""}"> lacks ${attr}=`);
  return v;
}

function bool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return v.toLowerCase() === "true" || v === "1";
}

function int(e: XmlElement, attr: string): number | undefined {
  const v = e.attrs[attr];
  if (v === undefined || v === "") return undefined;
  if (!/^\d+$/.test(v)) throw new ProtocolError("DOC_INVALID", `<${e.tag} name="${e.attrs.name}"> ${attr}="${v}" is not a number`);
  return Number(v);
}

function oneOf<T extends string>(e: XmlElement, attr: string, allowed: readonly T[], dflt: T): T {
  const v = e.attrs[attr] ?? dflt;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ProtocolError("DOC_INVALID", `<${e.tag} name="${e.attrs.name}"> ${attr}="${v}" is not one of ${allowed.join("|")}`);
  }
  return v as T;
}

export function pathEntry(e: XmlElement): PathEntry {
  const type = oneOf(e, "type", PATH_TYPES, "file");
  let content: Buffer | undefined;
  if (type === "file" && e.text !== undefined) {
    content = e.attrs.encoding === "base64" ? Buffer.from(e.text, "base64") : Buffer.from(e.text, "utf8");
  }
  const empty = bool(e.attrs.empty, false);
  if (type === "file" && empty) content = Buffer.alloc(0);
  return {
    name: req(e, "name"),
    type,
    owner: e.attrs.owner,
    group: e.attrs.group,
    mode: e.attrs.mode ?? e.attrs.perms,
    to: e.attrs.to ?? e.attrs.target,
    important: bool(e.attrs.important, false),
    paranoid: bool(e.attrs.paranoid, false),
    sensitive: bool(e.attrs.sensitive, false),
    recursive: bool(e.attrs.recursive, false),
    content,
    empty,
    devType: e.attrs.dev_type,
    major: int(e, "major"),
    minor: int(e, "minor"),
    failure: e.attrs.failure,
  };
}

export function packageEntry(e: XmlElement): PackageEntry {
  return {
    name: req(e, "name"),
    type: e.attrs.type ?? "",
    version: e.attrs.version ?? "auto",
    instances: e.children.filter((c) => c.tag === "Instance").map((i) => ({ version: i.attrs.version, arch: i.attrs.arch })),
    failure: e.attrs.failure,
  };
}

export function serviceEntry(e: XmlElement): ServiceEntry {
  return {
    name: req(e, "name"),
    type: e.attrs.type ?? "",
    status: oneOf(e, "status", ["on", "off", "ignore"] as const, "on"),
    restart: oneOf(e, "restart", ["true", "false", "interactive"] as const, "true"),
    failure: e.attrs.failure,
  };
}

export function posixUserEntry(e: XmlElement): PosixUserEntry {
  return {
    name: req(e, "name"),
    uid: int(e, "uid"),
    group: e.attrs.group,
    gecos: e.attrs.gecos,
    home: e.attrs.home,
    shell: e.attrs.shell,
    memberOf: e.children.filter((c) => c.tag === "MemberOf").map((c) => (c.text ?? c.attrs.group ?? "").trim()).filter(Boolean),
    failure: e.attrs.failure,
  };
}

export function posixGroupEntry(e: XmlElement): PosixGroupEntry {
  return { name: req(e, "name"), gid: int(e, "gid"), failure: e.attrs.failure };
}

export function actionEntry(e: XmlElement): ActionEntry {
  return {
    name: req(e, "name"),
    command: req(e, "command"),
    when: oneOf(e, "when", ["always", "modified"] as const, "modified"),
    timing: oneOf(e, "timing", ["pre", "post", "both"] as const, "post"),
    status: oneOf(e, "status", ["check", "ignore"] as const, "check"),
    failure: e.attrs.failure,
  };
}
