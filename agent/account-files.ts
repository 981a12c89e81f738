// The root's passwd/group/shadow/gshadow as one locked transaction: the shadow tools' lock files
// are taken, all four files are parsed, changed in memory, and written back atomically in an
// order that keeps them consistent after a kill at any point.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, constants } from "node:fs";
import { removeStaleTemps, writeFileAtomic } from "../lib/atomic-file.js";
import { takePidLock } from "./pid-lock.js";
import { inRoot } from "./root.js";

export type AccountFile = "passwd" | "group" | "shadow" | "gshadow";
const FILES: AccountFile[] = ["passwd", "group", "shadow", "gshadow"];

/** One colon-separated line; the field count is kept as read. */
export type Row = string[];

export interface AccountTables {
  passwd: Row[];
  group: Row[];
  shadow: Row[];
  gshadow: Row[];
  /** Which files existed when read (gshadow is optional). */
  present: Set<AccountFile>;
}

export function parseTable(text: string): Row[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

export function serializeTable(rows: Row[]): string {
  return rows.map((r) => r.join(":")).join("\n") + (rows.length ? "\n" : "");
}

export function readAccountTables(root: string): AccountTables {
  const t: AccountTables = { passwd: [], group: [], shadow: [], gshadow: [], present: new Set() };
  for (const f of FILES) {
    const p = inRoot(root, `/etc/${f}`);
    if (!existsSync(p)) continue;
    t.present.add(f);
    t[f] = parseTable(readFileSync(p, "utf8"));
  }
  return t;
}

/**
 * Runs `change` with every account file locked. lckpwdf(3) takes a POSIX record lock on
 * /etc/.pwd.lock; Node cannot take fcntl locks, so the agent creates that file (mode 0600, as
 * lckpwdf does) and relies on the per-file .lock files, which every shadow tool also takes.
 */
export function withAccountLock<T>(root: string, change: () => T, timeoutMs = 15000): T {
  // A first run into an empty image root: /etc is created (0755, as in any Debian root).
  mkdirSync(inRoot(root, "/etc"), { recursive: true, mode: 0o755 });
  const pwdLock = inRoot(root, "/etc/.pwd.lock");
  closeSync(openSync(pwdLock, constants.O_WRONLY | constants.O_CREAT, 0o600));
  const unlocks: Array<() => void> = [];
  try {
    for (const f of FILES) {
      const p = inRoot(root, `/etc/${f}`);
      if (existsSync(p) || f === "passwd" || f === "group" || f === "shadow") unlocks.push(takePidLock(p, timeoutMs));
    }
    // Holding every lock, no writer of ours is mid-write: temporaries left are a killed run's.
    for (const f of FILES) removeStaleTemps(inRoot(root, `/etc/${f}`));
    return change();
  } finally {
    for (const u of unlocks.reverse()) u();
  }
}

const DEFAULT_MODE: Record<AccountFile, number> = { passwd: 0o644, group: 0o644, shadow: 0o640, gshadow: 0o640 };

/**
 * Writes the tables that changed; returns their paths. Order matters for a kill between two renames:
 * when adding, gshadow → group → shadow → passwd (a user never appears in passwd before its shadow
 * line and group exist, a group never in group before its gshadow line); when removing, the reverse.
 * Each file is fsynced before its rename, as shadow's commonio writes them; the directory is left to
 * the caller (one fsync of /etc for all of them, not one per file).
 */
export function writeAccountTables(root: string, before: AccountTables, after: AccountTables, removing: boolean): string[] {
  const written: string[] = [];
  const order: AccountFile[] = removing ? ["passwd", "shadow", "group", "gshadow"] : ["gshadow", "group", "shadow", "passwd"];
  const shadowGid = after.group.find((r) => r[0] === "shadow")?.[2];
  for (const f of order) {
    if (f === "gshadow" && !before.present.has("gshadow")) continue;
    const text = serializeTable(after[f]);
    if (before.present.has(f) && text === serializeTable(before[f])) continue;
    const p = inRoot(root, `/etc/${f}`);
    let meta = { uid: 0, gid: f === "shadow" || f === "gshadow" ? Number(shadowGid ?? 0) : 0, mode: DEFAULT_MODE[f] };
    if (existsSync(p)) {
      const st = statSync(p);
      meta = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
    }
    writeFileAtomic(p, text, meta, { fsyncDir: false });
    written.push(p);
  }
  return written;
}
