// The POSIXUsers tool: POSIXUser and POSIXGroup entries as lines of the root's passwd, group,
// shadow and gshadow, changed under the shadow tools' locks and never half written.
import { el, type XmlElement } from "../../protocol/xml.js";
import { posixGroupEntry, posixUserEntry, type PosixUserEntry } from "../../protocol/entries.js";
import { readAccountTables, withAccountLock, writeAccountTables, type AccountTables, type Row } from "../account-files.js";
import type { States, Tool, ToolContext } from "./tool.js";

/** Debian's first regular uid/gid (adduser.conf FIRST_UID) and nobody's id. */
const SYSTEM_ID_LIMIT = 1000;
const NOBODY_ID = 65534;

function clone(t: AccountTables): AccountTables {
  const c = (rows: Row[]) => rows.map((r) => [...r]);
  return { passwd: c(t.passwd), group: c(t.group), shadow: c(t.shadow), gshadow: c(t.gshadow), present: new Set(t.present) };
}

function members(row: Row | undefined): string[] {
  return row && row[3] ? row[3].split(",").filter(Boolean) : [];
}

function gidFor(t: AccountTables, group: string | undefined): number | undefined {
  if (group === undefined) return undefined;
  if (/^\d+$/.test(group)) return Number(group);
  const r = t.group.find((g) => g[0] === group);
  return r ? Number(r[2]) : undefined;
}

function supplementary(t: AccountTables, user: string): string[] {
  return t.group.filter((g) => members(g).includes(user)).map((g) => g[0]).sort();
}

export class PosixUsersTool implements Tool {
  readonly name = "POSIXUsers";

  handles(entry: XmlElement): boolean {
    return ["POSIXUser", "POSIXGroup", "BoundPOSIXUser", "BoundPOSIXGroup"].includes(entry.tag);
  }

  private tables?: AccountTables;

  private read(ctx: ToolContext): AccountTables {
    this.tables ??= readAccountTables(ctx.root);
    return this.tables;
  }

  async verify(entry: XmlElement, ctx: ToolContext): Promise<boolean> {
    const t = this.read(ctx);
    if (entry.tag.endsWith("POSIXGroup")) {
      const g = posixGroupEntry(entry);
      const row = t.group.find((r) => r[0] === g.name);
      if (!row) {
        entry.attrs.current_exists = "false";
        return false;
      }
      if (g.gid !== undefined && Number(row[2]) !== g.gid) {
        entry.attrs.current_gid = row[2];
        return false;
      }
      return true;
    }
    const u = posixUserEntry(entry);
    const row = t.passwd.find((r) => r[0] === u.name);
    if (!row) {
      entry.attrs.current_exists = "false";
      return false;
    }
    let ok = true;
    const check = (attr: string, want: string | undefined, have: string) => {
      if (want !== undefined && want !== have) {
        entry.attrs[`current_${attr}`] = have;
        ok = false;
      }
    };
    check("uid", u.uid === undefined ? undefined : String(u.uid), row[2]);
    const gid = gidFor(t, u.group);
    if (u.group !== undefined && gid === undefined) ok = false; // primary group missing
    check("group", gid === undefined ? undefined : String(gid), row[3]);
    check("gecos", u.gecos, row[4] ?? "");
    check("home", u.home, row[5] ?? "");
    check("shell", u.shell, row[6] ?? "");
    const have = supplementary(t, u.name);
    const want = [...new Set(u.memberOf)].sort();
    if (have.join(",") !== want.join(",")) {
      entry.attrs.current_memberof = have.join(",");
      ok = false;
    }
    if (!t.shadow.some((r) => r[0] === u.name)) ok = false;
    return ok;
  }

  async install(entries: XmlElement[], ctx: ToolContext): Promise<States> {
    const states: States = new Map();
    // groups before users: a user's primary and supplementary groups must exist first
    const ordered = [...entries.filter((e) => e.tag.endsWith("POSIXGroup")), ...entries.filter((e) => e.tag.endsWith("POSIXUser"))];
    withAccountLock(ctx.root, () => {
      const before = readAccountTables(ctx.root);
      const after = clone(before);
      for (const e of ordered) {
        try {
          if (e.tag.endsWith("POSIXGroup")) this.applyGroup(after, e);
          else this.applyUser(after, posixUserEntry(e));
        } catch (err) {
          ctx.log.error(`POSIXUsers: ${e.tag} ${e.attrs.name}: ${(err as Error).message}`);
        }
      }
      // /etc's fsync with the run's other directories, before it reports (root-sync.ts)
      for (const p of writeAccountTables(ctx.root, before, after, false)) ctx.rootSync.changed(p, undefined);
    });
    this.tables = undefined;
    ctx.reloadAccounts();
    for (const e of ordered) {
      for (const k of Object.keys(e.attrs)) if (k.startsWith("current_")) delete e.attrs[k];
      states.set(e, await this.verify(e, ctx));
    }
    return states;
  }

  private applyGroup(t: AccountTables, e: XmlElement): void {
    const g = posixGroupEntry(e);
    let row = t.group.find((r) => r[0] === g.name);
    const gid = g.gid ?? (row ? Number(row[2]) : this.freeId(t.group, 1000));
    if (t.group.some((r) => r[0] !== g.name && Number(r[2]) === gid)) throw new Error(`gid ${gid} is already used`);
    if (!row) {
      row = [g.name, "x", String(gid), ""];
      t.group.push(row);
    }
    row[2] = String(gid);
    if (t.present.has("gshadow") && !t.gshadow.some((r) => r[0] === g.name)) t.gshadow.push([g.name, "!", "", row[3] ?? ""]);
  }

  private applyUser(t: AccountTables, u: PosixUserEntry): void {
    let row = t.passwd.find((r) => r[0] === u.name);
    const uid = u.uid ?? (row ? Number(row[2]) : this.freeId(t.passwd, 1000));
    if (t.passwd.some((r) => r[0] !== u.name && Number(r[2]) === uid)) throw new Error(`uid ${uid} is already used`);
    const gid = gidFor(t, u.group ?? u.name) ?? (row ? Number(row[3]) : 100);
    if (u.group !== undefined && gidFor(t, u.group) === undefined) throw new Error(`group "${u.group}" does not exist`);
    if (!row) {
      row = [u.name, "x", "", "", "", "", ""];
      t.passwd.push(row);
    }
    row[2] = String(uid);
    row[3] = String(gid);
    row[4] = u.gecos ?? row[4] ?? u.name;
    row[5] = u.home ?? row[5] ?? `/home/${u.name}`;
    row[6] = u.shell ?? row[6] ?? "/bin/sh";
    if (!t.shadow.some((r) => r[0] === u.name)) {
      // locked password, as useradd creates it; the last-change day lets chage work
      t.shadow.push([u.name, "!", String(Math.floor(Date.now() / 86400000)), "0", "99999", "7", "", "", ""]);
    }
    // supplementary groups: exactly the MemberOf list
    const want = new Set(u.memberOf);
    for (const g of want) if (!t.group.some((r) => r[0] === g)) throw new Error(`supplementary group "${g}" does not exist`);
    for (const tbl of [t.group, t.gshadow]) {
      for (const r of tbl) {
        while (r.length < 4) r.push("");
        const m = members(r).filter((x) => x !== u.name);
        if (want.has(r[0])) m.push(u.name);
        r[3] = m.join(",");
      }
    }
  }

  private freeId(rows: Row[], min: number): number {
    const used = new Set(rows.map((r) => Number(r[2])));
    let id = min;
    while (used.has(id)) id++;
    return id;
  }

  async findExtra(managed: XmlElement[], ctx: ToolContext): Promise<XmlElement[]> {
    const t = this.read(ctx);
    const users = new Set(managed.filter((e) => e.tag.endsWith("POSIXUser")).map((e) => e.attrs.name));
    const groups = new Set(managed.filter((e) => e.tag.endsWith("POSIXGroup")).map((e) => e.attrs.name));
    return [
      ...t.passwd.filter((r) => !users.has(r[0])).map((r) => el("POSIXUser", { name: r[0] })),
      ...t.group.filter((r) => !groups.has(r[0])).map((r) => el("POSIXGroup", { name: r[0] })),
    ];
  }

  async remove(extras: XmlElement[], ctx: ToolContext): Promise<void> {
    // Extra reports every account (as upstream does), but -r never deletes system accounts:
    // ids below 1000 (root, daemons, users) and 65534 (nobody/nogroup) are kept.
    const t = this.read(ctx);
    const removable = (e: XmlElement) => {
      const row = (e.tag === "POSIXUser" ? t.passwd : t.group).find((r) => r[0] === e.attrs.name);
      const id = Number(row?.[2]);
      const ok = row !== undefined && id >= SYSTEM_ID_LIMIT && id !== NOBODY_ID;
      if (!ok && row) ctx.log.info(`POSIXUsers: not removing system ${e.tag === "POSIXUser" ? "user" : "group"} ${e.attrs.name} (id ${id})`);
      return ok;
    };
    const users = new Set(extras.filter((e) => e.tag === "POSIXUser" && removable(e)).map((e) => e.attrs.name));
    const groups = new Set(extras.filter((e) => e.tag === "POSIXGroup" && removable(e)).map((e) => e.attrs.name));
    if (!users.size && !groups.size) return;
    withAccountLock(ctx.root, () => {
      const before = readAccountTables(ctx.root);
      const after = clone(before);
      after.passwd = after.passwd.filter((r) => !users.has(r[0]));
      after.shadow = after.shadow.filter((r) => !users.has(r[0]));
      // a group that is still some user's primary group stays
      const primary = new Set(after.passwd.map((r) => r[3]));
      const keep = (r: Row) => !groups.has(r[0]) || primary.has(after.group.find((g) => g[0] === r[0])?.[2] ?? "");
      after.group = after.group.filter(keep);
      after.gshadow = after.gshadow.filter((r) => after.group.some((g) => g[0] === r[0]));
      for (const tbl of [after.group, after.gshadow]) for (const r of tbl) if (r.length >= 4) r[3] = members(r).filter((m) => !users.has(m)).join(",");
      for (const p of writeAccountTables(ctx.root, before, after, true)) ctx.rootSync.changed(p, undefined);
    });
    this.tables = undefined;
    ctx.reloadAccounts();
    for (const n of users) ctx.log.info(`POSIXUsers: removed user ${n}`);
    for (const n of groups) ctx.log.info(`POSIXUsers: removed group ${n}`);
  }
}
