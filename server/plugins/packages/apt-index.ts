// APT Packages indexes read as upstream's AptSource.read_files and Source.process_files read
// them, quirks included, so the dependency data (and hence the closure) is upstream's:
// - a line is trimmed and split at its first ":" (so an indented description line that reads
//   "Depends: x" counts too);
// - version constraints are dropped (`(...)` removed), as is a ":any" suffix;
// - an alternative `a | b` becomes a virtual package "choice-PKG-ARCH-N" provided by a and b
//   (N counts the alternatives of one field, so a Pre-Depends and a Depends alternative of the
//   same package share "…-0" and the later one wins);
// - Provides are kept as written, a versioned `x (= 1)` included (so it never matches a dependency);
// - data the same on every architecture is stored under "global", the rest per architecture.

/** Parsed dependency data of one source (upstream's pkgnames, deps, provides, recommends, essentialpkgs). */
export interface SourceData {
  pkgnames: Set<string>;
  essential: Set<string>;
  /** arch ("global" or a real one) → package → dependency names. */
  deps: Map<string, Map<string, string[]>>;
  recommends: Map<string, Map<string, string[]>>;
  /** arch → virtual name → providing packages. */
  provides: Map<string, Map<string, Set<string>>>;
}

/** One downloaded index: its architecture and its text (already uncompressed). */
export interface IndexFile {
  arch: string;
  text: string;
}

const stripAny = (s: string) => (s.endsWith(":any") ? s.slice(0, -4) : s);
const dropVersion = (s: string) => s.replace(/\(.*\)/g, "");

function getOrSet<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) m.set(k, (v = make()));
  return v;
}

/** The order-free key of a dependency list or provider set, for "same on every arch". */
const listKey = (l: Iterable<string>, ordered: boolean) => JSON.stringify(ordered ? [...l] : [...l].sort());

export function readIndexes(files: IndexFile[], useEssential: boolean): SourceData {
  const bdeps = new Map<string, Map<string, string[]>>();
  const brecs = new Map<string, Map<string, string[]>>();
  const bprov = new Map<string, Map<string, Set<string>>>();
  const pkgnames = new Set<string>();
  const essential = new Set<string>();
  for (const { arch, text } of files) {
    const deps = getOrSet(bdeps, arch, () => new Map());
    const recs = getOrSet(brecs, arch, () => new Map());
    const prov = getOrSet(bprov, arch, () => new Map());
    let pkg = "";
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      const colon = line.indexOf(":");
      const key = colon < 0 ? line : line.slice(0, colon);
      if (colon < 0) continue;
      const value = line.slice(colon + 1);
      if (key === "Package") {
        pkg = value.trim();
        pkgnames.add(pkg);
        deps.set(pkg, []);
        recs.set(pkg, []);
      } else if (key === "Essential" && useEssential) {
        if (value.trim() === "yes") essential.add(pkg);
      } else if (key === "Depends" || key === "Pre-Depends" || key === "Recommends") {
        const into = key === "Recommends" ? getOrSet(recs, pkg, () => []) : getOrSet(deps, pkg, () => []);
        let vindex = 0;
        for (const dep of value.split(",")) {
          if (dep.includes("|")) {
            const choices = dep.split("|").map((c) => stripAny(dropVersion(c).replace(/\s+/g, "")));
            const name = `choice-${pkg}-${arch}-${vindex++}`;
            into.push(name);
            prov.set(name, new Set(choices));
          } else {
            into.push(stripAny(dropVersion(dep).trim()));
          }
        }
      } else if (key === "Provides") {
        for (const p of value.split(",")) getOrSet(prov, p.trim(), () => new Set()).add(pkg);
      }
    }
  }

  // process_files: what is the same on every architecture read goes under "global".
  const data: SourceData = { pkgnames, essential, deps: new Map(), recommends: new Map(), provides: new Map() };
  const perArch = <T>(into: Map<string, Map<string, T>>, from: Map<string, Map<string, T>>) => {
    into.set("global", new Map());
    for (const a of from.keys()) into.set(a, new Map());
  };
  perArch(data.deps, bdeps);
  perArch(data.recommends, brecs);
  perArch(data.provides, bprov);
  const split = (into: Map<string, Map<string, string[]>>, from: Map<string, Map<string, string[]>>, pkg: string) => {
    if (from.size === 1) {
      // one architecture read: everything is "global" (the usual case, without comparing)
      into.get("global")!.set(pkg, getOrSet(from.values().next().value!, pkg, () => []));
      return;
    }
    const seen = new Set<string>();
    for (const m of from.values()) seen.add(listKey(getOrSet(m, pkg, () => []), true));
    if (seen.size === 1) into.get("global")!.set(pkg, [...from.values().next().value!.get(pkg)!]);
    else for (const [a, m] of from) into.get(a)!.set(pkg, m.get(pkg)!);
  };
  for (const pkg of pkgnames) {
    split(data.deps, bdeps, pkg);
    split(data.recommends, brecs, pkg);
  }
  const provided = new Set<string>();
  for (const m of bprov.values()) for (const k of m.keys()) provided.add(k);
  for (const v of provided) {
    if (bprov.size === 1) {
      data.provides.get("global")!.set(v, bprov.values().next().value!.get(v)!);
      continue;
    }
    const seen = new Map<string, Set<string>>();
    for (const m of bprov.values()) {
      const s = m.get(v);
      if (s) seen.set(listKey(s, false), s);
    }
    if (seen.size === 1) data.provides.get("global")!.set(v, new Set(seen.values().next().value!));
    else for (const [a, m] of bprov) data.provides.get(a)!.set(v, new Set(m.get(v) ?? []));
  }
  return data;
}
