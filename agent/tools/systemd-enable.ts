// `systemctl --root=DIR enable UNIT…` made in-process for the plain case, as systemd's install.c
// makes it: the unit's file found first on the system unit search path, its [Install] section's
// WantedBy=/RequiredBy= read, and a link to the file (as spelled on the search path) made in
// /etc/systemd/system/TARGET.wants/ or .requires/. systemctl costs a program start (5 ms, 1,400
// system calls) right after apt-get on a first run, on the run's critical path. Anything else
// (templates, Alias=, Also=, drop-ins, specifiers, quoting, masks, SysV scripts, a link already
// made differently, SYSTEMD_UNIT_PATH) is left to systemctl: the caller asks it instead.
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from "node:fs";
import { posix } from "node:path";
import { inRoot } from "../root.js";

/**
 * The system unit search path of systemd 252 as Debian builds it (split /usr: /lib before /usr/lib;
 * `systemd-analyze unit-paths`), which is where a link's target is spelled from.
 */
export const UNIT_SEARCH_PATH = [
  "/etc/systemd/system.control",
  "/run/systemd/system.control",
  "/run/systemd/transient",
  "/run/systemd/generator.early",
  "/etc/systemd/system",
  "/etc/systemd/system.attached",
  "/run/systemd/system",
  "/run/systemd/system.attached",
  "/run/systemd/generator",
  "/usr/local/lib/systemd/system",
  "/lib/systemd/system",
  "/usr/lib/systemd/system",
  "/run/systemd/generator.late",
];
/** Where a unit's file may be for the link to it to be made here (not a control, transient, attached, runtime or generated unit). */
const PLAIN_DIRS = new Set(["/etc/systemd/system", "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"]);
const CONFIG_DIR = "/etc/systemd/system";
/** A unit name with no instance, template or escaping. */
const PLAIN_UNIT = /^[A-Za-z0-9:_.-]+\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$/;
/** [Install] keys followed here, and the directory suffix each one's links go in. */
const LINK_KINDS: Record<string, string> = { WantedBy: ".wants", RequiredBy: ".requires" };

/** One link systemctl enable would make: client paths. */
export interface UnitLink {
  link: string;
  target: string;
}

/** The names in each directory of the search path in a root (none for a missing one), each listed once: one readdir, not a dozen lstats per unit. */
class SearchPathListing {
  private readonly names = new Map<string, Set<string>>();
  constructor(private readonly root: string) {}
  /** Whether anything (file, link, directory) named `name` is in the search path directory `dir`. */
  has(dir: string, name: string): boolean {
    let names = this.names.get(dir);
    if (names === undefined) {
      try {
        names = new Set(readdirSync(inRoot(this.root, dir)));
      } catch {
        names = new Set(); // missing (or not a directory): systemd finds nothing there either
      }
      this.names.set(dir, names);
    }
    return names.has(name);
  }
}

/**
 * The drop-in directories systemd reads for `unit` (NAME.TYPE.d, each dash-prefix's PREFIX-.TYPE.d,
 * TYPE.d): systemctl enable reads [Install] from them too.
 */
function dropInNames(unit: string): string[] {
  const dot = unit.lastIndexOf(".");
  const [stem, type] = [unit.slice(0, dot), unit.slice(dot + 1)];
  const names = [`${unit}.d`, `${type}.d`];
  for (let i = stem.indexOf("-"); i >= 0; i = stem.indexOf("-", i + 1)) names.push(`${stem.slice(0, i + 1)}.${type}.d`);
  return names;
}

/** The [Install] section's link targets by kind, or undefined when it holds anything not followed here. */
function installTargets(text: string): Map<string, string[]> | undefined {
  const lists = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.endsWith("\\") || line.startsWith(".include")) return undefined; // continuations, includes
    if (line.startsWith("[")) {
      section = line;
      continue;
    }
    if (section !== "[Install]") continue;
    const eq = line.indexOf("=");
    if (eq < 0) return undefined;
    const [key, value] = [line.slice(0, eq).trim(), line.slice(eq + 1).trim()];
    if (key.startsWith("X-")) continue; // ignored by systemd
    if (!(key in LINK_KINDS) || /["'\\%]/.test(value)) return undefined;
    const words = value.split(/\s+/).filter(Boolean);
    if (words.some((w) => !PLAIN_UNIT.test(w))) return undefined;
    lists.set(key, value === "" ? [] : [...(lists.get(key) ?? []), ...words]); // an empty assignment resets the list
  }
  return [...lists.values()].some((l) => l.length) ? lists : undefined; // no links: "static", systemctl says so
}

/** The links enabling the unit makes, or undefined when systemctl must be asked. */
function unitLinks(root: string, unit: string, listing: SearchPathListing): UnitLink[] | undefined {
  const base = unit.replace(/\.service$/, "");
  if (unit.endsWith(".service") && lstatSync(inRoot(root, `/etc/init.d/${base}`), { throwIfNoEntry: false })) return undefined; // systemd-sysv-install
  const drops = dropInNames(unit);
  if (UNIT_SEARCH_PATH.some((d) => drops.some((n) => listing.has(d, n)))) return undefined;
  const dir = UNIT_SEARCH_PATH.find((d) => listing.has(d, unit));
  if (dir === undefined || !PLAIN_DIRS.has(dir)) return undefined;
  const file = `${dir}/${unit}`;
  const st = lstatSync(inRoot(root, file));
  if (!st.isFile() || st.size === 0) return undefined; // a link (alias, mask) or an empty file (masked)
  const targets = installTargets(readFileSync(inRoot(root, file), "utf8"));
  if (!targets) return undefined;
  const links: UnitLink[] = [];
  for (const [key, names] of targets) {
    for (const t of new Set(names)) links.push({ link: `${CONFIG_DIR}/${t}${LINK_KINDS[key]}/${unit}`, target: file });
  }
  return links;
}

/**
 * What `systemctl --root=ROOT enable UNITS` would do, when it is plain enough to do it here: the
 * links still to make (those already made alike are left out), or undefined when systemctl must be
 * asked (for all of them). Nothing is changed.
 */
export function plainEnableLinks(root: string, units: string[]): UnitLink[] | undefined {
  if (process.env.SYSTEMD_UNIT_PATH !== undefined) return undefined;
  const todo: UnitLink[] = [];
  const listing = new SearchPathListing(root);
  for (const unit of units) {
    if (!PLAIN_UNIT.test(unit)) return undefined;
    const links = unitLinks(root, unit, listing);
    if (!links) return undefined;
    for (const l of links) {
      const dir = lstatSync(inRoot(root, posix.dirname(l.link)), { throwIfNoEntry: false });
      if (dir !== undefined && !dir.isDirectory()) return undefined;
      const host = inRoot(root, l.link);
      const st = lstatSync(host, { throwIfNoEntry: false });
      if (st === undefined) todo.push(l);
      else if (!st.isSymbolicLink() || readlinkSync(host) !== l.target) return undefined; // systemctl refuses, or knows better
    }
  }
  return todo;
}

/** Makes the links (plainEnableLinks), their directories as systemctl makes them (0755). */
export function makeUnitLinks(root: string, links: UnitLink[]): void {
  for (const l of links) {
    mkdirSync(inRoot(root, posix.dirname(l.link)), { recursive: true, mode: 0o755 });
    symlinkSync(l.target, inRoot(root, l.link));
  }
}
