// The POSIX tool: Path entries of every type (file, directory, symlink, hardlink, permissions,
// nonexistent, device) with owner/group/mode, applied under the root, writes atomic, diffs as upstream.
import { existsSync, lchownSync, chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, rmdirSync, statSync, type Stats } from "node:fs";
import { posix } from "node:path";
import { TextDecoder } from "node:util";
import { pathEntry, type PathEntry } from "../../protocol/entries.js";
import type { XmlElement } from "../../protocol/xml.js";
import { linkAtomic, removeStaleTemps, tempSibling, writeFileAtomic } from "../../lib/atomic-file.js";
import { runCheckedSync } from "../../lib/host-tools.js";
import { inRoot } from "../root.js";
import { bcfg2Bdiff } from "../unified-diff.js";
import type { States, Tool, ToolContext } from "./tool.js";

const SUPPORTED = new Set(["file", "directory", "symlink", "hardlink", "permissions", "nonexistent", "device", "ignore"]);

function parseMode(mode: string | undefined): number | undefined {
  if (mode === undefined || mode === "") return undefined;
  if (!/^[0-7]{1,5}$/.test(mode)) throw new Error(`mode="${mode}" is not an octal mode`);
  return parseInt(mode, 8) & 0o7777;
}

function octal4(n: number): string {
  return (n & 0o7777).toString(8).padStart(4, "0");
}

function lstatOrUndef(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function isUtf8(buf: Buffer): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(buf);
    return true;
  } catch {
    return false;
  }
}

interface Wanted {
  uid?: number;
  gid?: number;
  mode?: number;
}

/** Owner/group/mode the entry asks for, resolved through the root's account files. */
function wantedMeta(pe: PathEntry, ctx: ToolContext): Wanted {
  const acc = ctx.accounts();
  const w: Wanted = { mode: parseMode(pe.mode) };
  if (pe.owner) {
    w.uid = acc.uidOf(pe.owner);
    if (w.uid === undefined) throw new Error(`owner "${pe.owner}" is not in ${ctx.root === "/" ? "" : ctx.root}/etc/passwd`);
  }
  if (pe.group) {
    w.gid = acc.gidOf(pe.group);
    if (w.gid === undefined) throw new Error(`group "${pe.group}" is not in ${ctx.root === "/" ? "" : ctx.root}/etc/group`);
  }
  return w;
}

function metaMatches(st: Stats, w: Wanted, checkMode = true): boolean {
  if (w.uid !== undefined && st.uid !== w.uid) return false;
  if (w.gid !== undefined && st.gid !== w.gid) return false;
  if (checkMode && w.mode !== undefined && (st.mode & 0o7777) !== w.mode) return false;
  return true;
}

function recordCurrentMeta(entry: XmlElement, st: Stats): void {
  entry.attrs.current_owner = String(st.uid);
  entry.attrs.current_group = String(st.gid);
  entry.attrs.current_mode = octal4(st.mode);
}

export class PosixTool implements Tool {
  readonly name = "POSIX";

  handles(entry: XmlElement): boolean {
    return entry.tag === "Path" || entry.tag === "BoundPath";
  }

  async verify(entry: XmlElement, ctx: ToolContext): Promise<boolean> {
    const log = ctx.log.child("posix");
    let pe: PathEntry;
    try {
      pe = pathEntry(entry);
    } catch (e) {
      log.error(`Path ${entry.attrs.name}: ${(e as Error).message}`);
      return false;
    }
    if (!SUPPORTED.has(pe.type)) {
      log.error(`Path ${pe.name}: type="${pe.type}" is not supported by this agent`);
      return false;
    }
    if (pe.type === "ignore") return true;
    const host = inRoot(ctx.root, pe.name);
    if (!ctx.dryRun) removeStaleTemps(host);
    let w: Wanted;
    try {
      w = wantedMeta(pe, ctx);
    } catch (e) {
      // Not an error yet: the POSIXUser/POSIXGroup of this configuration that creates the owner is
      // installed before Paths (defaultTools order). install() logs it as an error if it still fails.
      log.info(`Path ${pe.name}: ${(e as Error).message}`);
      const st = lstatOrUndef(host);
      if (!st) entry.attrs.current_exists = "false";
      return false;
    }
    const st = lstatOrUndef(host);
    if (pe.type === "nonexistent") {
      if (st) entry.attrs.current_exists = "true";
      return !st;
    }
    if (!st) {
      entry.attrs.current_exists = "false";
      if (pe.type === "file") this.recordContentDiff(entry, pe, Buffer.alloc(0));
      return false;
    }
    let ok: boolean;
    switch (pe.type) {
      case "file": {
        if (!st.isFile()) {
          log.info(`Path ${pe.name}: is not a regular file`);
          recordCurrentMeta(entry, st);
          return false;
        }
        if (pe.content === undefined) {
          log.error(`Path ${pe.name}: entry has no content (and no empty="true")`);
          return false;
        }
        const current = readFileSync(host);
        const same = current.equals(pe.content);
        if (!same) this.recordContentDiff(entry, pe, current);
        ok = same && metaMatches(st, w);
        break;
      }
      case "directory":
        ok = st.isDirectory() && metaMatches(st, w);
        break;
      case "symlink": {
        const cur = st.isSymbolicLink() ? readlinkSync(host) : undefined;
        if (cur !== pe.to) {
          if (cur !== undefined) entry.attrs.current_to = cur;
          return false;
        }
        return true;
      }
      case "hardlink": {
        const to = pe.to ? lstatOrUndef(inRoot(ctx.root, pe.to)) : undefined;
        ok = !!to && to.ino === st.ino && to.dev === st.dev && metaMatches(st, w);
        break;
      }
      case "permissions":
        ok = metaMatches(st, w, !st.isSymbolicLink());
        break;
      case "device": {
        const kind = pe.devType ?? "";
        const typeOk = (kind === "block" && st.isBlockDevice()) || (kind === "char" && st.isCharacterDevice()) || (kind === "fifo" && st.isFIFO());
        const numOk = kind === "fifo" || (Math.floor(st.rdev / 256) === (pe.major ?? -1) && st.rdev % 256 === (pe.minor ?? -1));
        ok = typeOk && numOk && metaMatches(st, w);
        break;
      }
      default:
        ok = false;
    }
    if (!ok) recordCurrentMeta(entry, st);
    return ok;
  }

  /** current_bdiff (text) or current_bfile (binary), as upstream's File tool reports them. */
  private recordContentDiff(entry: XmlElement, pe: PathEntry, current: Buffer): void {
    if (pe.sensitive) return;
    const binary = entry.attrs.encoding === "base64" || !isUtf8(current) || !isUtf8(pe.content ?? Buffer.alloc(0));
    if (binary) {
      entry.attrs.current_bfile = current.toString("base64");
      return;
    }
    const bdiff = bcfg2Bdiff(pe.name, current.toString("utf8"), (pe.content ?? Buffer.alloc(0)).toString("utf8"));
    if (bdiff) entry.attrs.current_bdiff = bdiff;
    else entry.attrs.current_bfile = current.toString("base64");
  }

  async install(entries: XmlElement[], ctx: ToolContext): Promise<States> {
    const states: States = new Map();
    const log = ctx.log.child("posix");
    for (const entry of entries) {
      try {
        const pe = pathEntry(entry);
        if (pe.type === "ignore") {
          states.set(entry, true);
          continue;
        }
        this.installOne(pe, entry, ctx);
        ctx.log.debug(`POSIX: installed ${pe.type} ${pe.name}`);
      } catch (e) {
        log.error(`Failed to install Path ${entry.attrs.name}: ${(e as Error).message}`);
      }
      // the entry is as good as a fresh verify says (current_* from the first verify are dropped)
      for (const k of Object.keys(entry.attrs)) if (k.startsWith("current_")) delete entry.attrs[k];
      states.set(entry, await this.verify(entry, ctx));
    }
    return states;
  }

  private installOne(pe: PathEntry, entry: XmlElement, ctx: ToolContext): void {
    if (!SUPPORTED.has(pe.type)) throw new Error(`type="${pe.type}" is not supported`);
    const host = inRoot(ctx.root, pe.name);
    const w = wantedMeta(pe, ctx);
    const st = lstatOrUndef(host);
    if (pe.type === "nonexistent") {
      if (!st) return;
      if (st.isDirectory() && !pe.recursive) rmdirSync(host); // fails on a non-empty directory, as upstream
      else rmSync(host, { recursive: pe.recursive, force: true });
      ctx.rootSync.changed(host, undefined);
      return;
    }
    if (pe.type === "permissions") {
      if (!st) throw new Error("does not exist (permissions entries never create paths)");
      this.setMeta(host, st, w);
      ctx.rootSync.changed(host, st.isDirectory() ? "directory" : st.isFile() ? "file" : undefined);
      return;
    }
    // the changes below are fsynced in the background, not one by one in line (root-sync.ts)
    this.makeParents(pe, w, ctx);
    if (st && pe.paranoid && ctx.paranoid && st.isFile() && pe.type === "file") this.paranoidBackup(pe.name, host, ctx);
    // a path of the wrong kind is removed first; directories only when the entry is not a file
    const wrongKind =
      st &&
      ((pe.type === "file" && !st.isFile()) ||
        (pe.type === "directory" && !st.isDirectory()) ||
        (pe.type === "symlink" && !st.isSymbolicLink() && st.isDirectory()) ||
        (pe.type === "device" && !(st.isBlockDevice() || st.isCharacterDevice() || st.isFIFO())));
    if (wrongKind) {
      if (st.isDirectory()) {
        if (readdirSync(host).length) throw new Error("a non-empty directory is in the way");
        rmdirSync(host);
      } else if (pe.type !== "file") rmSync(host, { force: true });
    }
    switch (pe.type) {
      case "file": {
        if (pe.content === undefined) throw new Error("entry has no content");
        writeFileAtomic(host, pe.content, { uid: w.uid, gid: w.gid, mode: w.mode ?? 0o644 }, { fsync: false });
        ctx.rootSync.changed(host, "file");
        return;
      }
      case "directory": {
        if (!lstatOrUndef(host)) mkdirSync(host, { mode: 0o700 });
        this.setMeta(host, lstatSync(host), { ...w, mode: w.mode ?? 0o755 });
        ctx.rootSync.changed(host, "directory");
        return;
      }
      case "symlink":
        if (!pe.to) throw new Error("symlink has no to=");
        linkAtomic("symlink", pe.to, host, { fsync: false });
        ctx.rootSync.changed(host, undefined);
        return;
      case "hardlink": {
        if (!pe.to) throw new Error("hardlink has no to=");
        const src = inRoot(ctx.root, pe.to);
        if (!existsSync(src)) throw new Error(`hardlink source ${pe.to} does not exist`);
        linkAtomic("hardlink", src, host, { fsync: false });
        const linked = lstatSync(host);
        this.setMeta(host, linked, w);
        ctx.rootSync.changed(host, linked.isFile() ? "file" : undefined);
        return;
      }
      case "device": {
        const tmp = tempSibling(host);
        const kind = pe.devType ?? "";
        const mode = octal4(w.mode ?? 0o600);
        const argv = kind === "fifo" ? ["mkfifo", "-m", mode, tmp] : ["mknod", "-m", mode, tmp, kind === "block" ? "b" : "c", String(pe.major ?? 0), String(pe.minor ?? 0)];
        if (kind !== "fifo" && kind !== "block" && kind !== "char") throw new Error(`dev_type="${kind}" is not block, char or fifo`);
        // node has no mknod(2); the coreutils command is everywhere the agent runs
        runCheckedSync(argv[0]!, argv.slice(1), { code: "AGENT_RUN" });
        this.setMeta(tmp, lstatSync(tmp), w);
        renameSync(tmp, host);
        ctx.rootSync.changed(host, undefined);
        return;
      }
    }
  }

  private setMeta(host: string, st: Stats, w: Wanted): void {
    if ((w.uid !== undefined && st.uid !== w.uid) || (w.gid !== undefined && st.gid !== w.gid)) lchownSync(host, w.uid ?? -1, w.gid ?? -1);
    if (w.mode !== undefined && !st.isSymbolicLink()) chmodSync(host, w.mode);
  }

  /** Creates missing parents (0755, or 0700 and the entry's owner for .ssh directories). */
  private makeParents(pe: PathEntry, w: Wanted, ctx: ToolContext): void {
    const parts = posix.dirname(pe.name).split("/").filter(Boolean);
    let client = "/";
    for (const part of parts) {
      client = posix.join(client, part);
      const host = inRoot(ctx.root, client);
      if (lstatOrUndef(host)) continue;
      const ssh = part === ".ssh";
      mkdirSync(host, { mode: ssh ? 0o700 : 0o755 });
      chmodSync(host, ssh ? 0o700 : 0o755);
      if (ssh && (w.uid !== undefined || w.gid !== undefined)) lchownSync(host, w.uid ?? -1, w.gid ?? -1);
      ctx.rootSync.changed(host, "directory");
    }
  }

  /** Copies the file to <root><paranoid path>/<name with / as _>_<iso time>, keeping max_copies. */
  private paranoidBackup(name: string, host: string, ctx: ToolContext): void {
    const dir = inRoot(ctx.root, ctx.paranoidPath);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const base = name.replace(/\//g, "_");
    const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}$`);
    const old = readdirSync(dir).filter((f) => re.test(f)).sort();
    while (old.length >= Math.max(1, ctx.paranoidCopies)) rmSync(posix.join(dir, old.shift()!), { force: true });
    const dest = posix.join(dir, `${base}_${backupStamp(dir, base)}`);
    writeFileAtomic(dest, readFileSync(host), { mode: statSync(host).mode & 0o7777 & ~0o077 }, { fsync: false });
    ctx.rootSync.changed(dest, "file");
    ctx.log.info(`POSIX: Backup of ${name} saved to ${dest}`);
  }
}

/**
 * datetime.isoformat() of local time with microseconds, as upstream names backups. Two backups of one
 * file can fall in the same millisecond (a fast machine, or the clock stepping back), so the stamp is
 * taken to the microsecond and moved on until no backup has it: one must never replace another.
 */
function backupStamp(dir: string, base: string): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  for (let us = Math.floor((performance.timeOrigin + performance.now()) * 1000); ; us++) {
    const t = new Date(Math.floor(us / 1000));
    const iso = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(us % 1_000_000, 6)}`;
    if (!existsSync(posix.join(dir, `${base}_${iso}`))) return iso;
  }
}
