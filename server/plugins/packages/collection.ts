// The sources that apply to one client, queried together (upstream's Collection/AptCollection):
// the dependency closure (Collection.complete, the same algorithm so the same choices), the
// essential packages, and the client's APT sources.list (AptCollection.get_config).
import type { ClientMetadata } from "../../core/metadata.js";
import type { SourceData } from "./apt-index.js";
import type { AptSource } from "./sources.js";

export interface LoadedSource {
  src: AptSource;
  data: SourceData;
}

export interface Closure {
  packages: Set<string>;
  /** Names nothing in the client's sources is or provides ("choice-…" left out, as upstream). */
  unknown: Set<string>;
}

export class AptCollection {
  /** The Package type the client's entries get: "deb", or "unknown" without sources (as upstream). */
  readonly ptype: string;
  constructor(
    readonly meta: ClientMetadata,
    readonly sources: LoadedSource[],
  ) {
    this.ptype = sources.length ? "deb" : "unknown";
  }

  /** upstream Source.get_arches: "global" and the source's arches the client is in. */
  private arches(src: AptSource): string[] {
    return ["global", ...src.arches.filter((a) => this.meta.groups.has(a))];
  }

  private static isPackageIn(s: LoadedSource, name: string): boolean {
    return s.data.pkgnames.has(name) && !s.src.blacklist.includes(name) && (s.src.whitelist.length === 0 || s.src.whitelist.includes(name));
  }

  isPackage(name: string): boolean {
    return this.sources.some((s) => AptCollection.isPackageIn(s, name));
  }

  /** The first source that has the package answers (upstream Collection.get_deps / Source.get_deps). */
  deps(name: string, recommended: Map<string, string>): string[] {
    const rec = recommended.get(name);
    for (const s of this.sources) {
      if (!AptCollection.isPackageIn(s, name)) continue;
      const out: string[] = [];
      if ((rec === undefined && s.src.recommended) || (rec !== undefined && rec !== "" && rec.toLowerCase() === "true")) {
        for (const a of this.arches(s.src)) out.push(...(s.data.recommends.get(a)?.get(name) ?? []));
      }
      for (const a of this.arches(s.src)) out.push(...(s.data.deps.get(a)?.get(name) ?? []));
      return out;
    }
    return [];
  }

  /** Every virtual name and its providers, over all sources (upstream Collection.get_vpkgs). */
  vpkgs(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const s of this.sources) {
      for (const a of this.arches(s.src)) {
        for (const [name, provs] of s.data.provides.get(a) ?? []) {
          const have = out.get(name);
          if (have) for (const p of provs) have.add(p);
          else out.set(name, new Set(provs));
        }
      }
    }
    return out;
  }

  essential(): Set<string> {
    const out = new Set<string>();
    for (const s of this.sources) for (const p of s.data.essential) out.add(p);
    return out;
  }

  /**
   * upstream Collection.complete: the closure of `packagelist`. Names in the list are packages
   * whatever they are; a virtual name with one provider pulls that provider in, one with several
   * (an alternative `a | b` included) is left to the client's package manager unless a provider is
   * already there; a name that is both a package and virtual waits for a provider, and is taken
   * itself when none came by the last pass.
   */
  complete(packagelist: Set<string>, recommended: Map<string, string>): Closure {
    const vcache = this.vpkgs();
    const unclassified = new Set(packagelist);
    const vpkgs = new Set<string>();
    const both = new Set<string>();
    const pkgs = new Set(packagelist);
    const packages = new Set<string>();
    const examined = new Set<string>();
    const unknown = new Set<string>();
    let finalPass = false;
    let reallyDone = false;
    while (unclassified.size || pkgs.size || both.size || finalPass) {
      if (reallyDone) break;
      if (unclassified.size + pkgs.size + both.size === 0) reallyDone = true;
      for (const current of unclassified) {
        examined.add(current);
        const isPkg = this.isPackage(current);
        const isV = vcache.has(current);
        (isPkg ? (isV ? both : pkgs) : isV ? vpkgs : unknown).add(current);
      }
      unclassified.clear();
      for (const current of pkgs) {
        packages.add(current);
        for (const d of this.deps(current, recommended)) if (!examined.has(d)) unclassified.add(d);
      }
      pkgs.clear();
      for (const current of vpkgs) {
        const provs = vcache.get(current)!;
        if (provs.size === 1) for (const p of provs) if (!examined.has(p)) unclassified.add(p);
      }
      vpkgs.clear();
      const satisfiedBoth: string[] = [];
      for (const current of both) {
        if ([...vcache.get(current)!].some((p) => packages.has(p))) satisfiedBoth.push(current);
        else if (packagelist.has(current) || finalPass) {
          pkgs.add(current);
          satisfiedBoth.push(current);
        }
      }
      for (const b of satisfiedBoth) both.delete(b);
      finalPass = unclassified.size + pkgs.size === 0;
    }
    for (const u of [...unknown]) if (u.startsWith("choice")) unknown.delete(u);
    return { packages, unknown };
  }

  /** upstream AptCollection.get_config: the client's sources.list. */
  config(): string {
    const lines = ["# This config was generated automatically by the Bcfg2 Packages plugin", ""];
    for (const { src } of this.sources) {
      if (src.rawurl) {
        const index = src.rawurl.lastIndexOf("/", src.rawurl.length - 2);
        lines.push(`deb ${src.rawurl.slice(0, index)} ${src.rawurl.slice(index + 1)}`);
      } else {
        lines.push(`deb ${src.url} ${src.version} ${src.components.join(" ")}`);
        if (src.debsrc) lines.push(`deb-src ${src.url} ${src.version} ${src.components.join(" ")}`);
      }
      lines.push("");
    }
    return lines.join("\n");
  }
}
