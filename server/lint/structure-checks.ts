// bcfg2-lint's GroupNames and Bundler checks, plus the one upstream leaves to the server's log:
// an entry in a bundle that no generator can bind (the client would get failure="no matching
// generator"). Names are found the way the server finds them: Cfg entry folders, SSHbase's key
// files, Rules entries (regexes with [rules] regex).
import { posix } from "node:path";
import type { XmlElement } from "../../protocol/xml.js";
import { KEY_BASENAMES } from "../plugins/sshbase/host-keys.js";
import { APT_CONFIG_DEFAULT, YUM_CONFIG_DEFAULT } from "../plugins/packages/options.js";
import type { ParsedRepository } from "./cross-refs.js";
import { problem, type LintProblem } from "./problem.js";

// Upstream GroupNames.pattern: a group name is any run of non-white-space characters.
const VALID_GROUP = /^\S+$/;
const GROUP_FILES = /^Metadata\/.+\.xml$|^(Bundler|Rules|Defaults|Decisions)\/[^/]+\.xml$|^(Cfg|SSHbase)\/(.+\/)?info\.xml$|^Context\/groups\.xml$/;
const CFG_GROUP = /\.G\d+_(.+?)(\.(jinja2|genshi|cheetah|crypt))?$/;
const PROBE_GROUP = /\.G\d\d_(.+)$/;

function walk(e: XmlElement, visit: (e: XmlElement, parent?: XmlElement) => void, parent?: XmlElement): void {
  visit(e, parent);
  for (const c of e.children) walk(c, visit, e);
}

/** GroupNames: every group named in XML, and in .G##_ suffixes of Cfg and Probes files. */
export function checkGroupNames(repo: ParsedRepository): LintProblem[] {
  const out: LintProblem[] = [];
  const bad = (file: string, line: number | undefined, name: string) =>
    out.push(problem(file, line, "invalid-group-name", `invalid group name "${name}" (a group name has no white space)`));
  for (const [file, root] of repo.trees) {
    if (!GROUP_FILES.test(file)) continue;
    walk(root, (e) => {
      if (e.tag === "Group" && e.attrs.name !== undefined && !VALID_GROUP.test(e.attrs.name)) bad(file, e.line, e.attrs.name);
    });
  }
  for (const file of repo.files) {
    const base = posix.basename(file);
    const m = file.startsWith("Cfg/") ? CFG_GROUP.exec(base) : file.startsWith("Probes/") ? PROBE_GROUP.exec(base) : null;
    if (m && !VALID_GROUP.test(m[1]!)) bad(file, 0, m[1]!);
  }
  return out;
}

/** Bundler's unused-bundle: a bundle file no group and no RequiredBundle names. */
export function checkUnusedBundles(repo: ParsedRepository): LintProblem[] {
  const named = new Set<string>();
  for (const [file, root] of repo.trees) {
    if (!file.startsWith("Metadata/") && !file.startsWith("Bundler/")) continue;
    walk(root, (e, parent) => {
      if ((e.tag === "Bundle" && parent !== undefined) || e.tag === "RequiredBundle") if (e.attrs.name) named.add(e.attrs.name);
    });
  }
  const out: LintProblem[] = [];
  for (const file of repo.files) {
    const m = /^Bundler\/([^/]+)\.(xml|genshi)$/.exec(file);
    if (m && !named.has(m[1]!)) out.push(problem(file, 0, "unused-bundle", `bundle "${m[1]}" is not named by any group in groups.xml or RequiredBundle`));
  }
  return out;
}

export interface GeneratorNames {
  /** tag → exact names; tag → regexes (Rules with [rules] regex). */
  exact: Map<string, Set<string>>;
  patterns: Map<string, RegExp[]>;
}

const STRUCTURAL = new Set(["Group", "Client", "Bundle", "Independent", "RequiredBundle", "Rules", "MemberOf", "Instance", "Ignore"]);
/** Entry tags generators bind (an unknown tag is the schema's to report). */
const ENTRY_TAGS = new Set(["Path", "Package", "Service", "Action", "POSIXUser", "POSIXGroup", "SEBoolean", "SEModule", "SEPort", "SEFcontext", "SENode", "SELogin", "SEUser", "SEInterface", "SEPermissive"]);
const REGEX_CHARS = /[.*+?^${}()|[\]\\]/;

/** What the server's generators could bind, read from the repository's files. */
export function generatorNames(repo: ParsedRepository, opts: { rulesRegex?: boolean; sshbase?: boolean; packages?: boolean } = {}): GeneratorNames {
  const exact = new Map<string, Set<string>>();
  const patterns = new Map<string, RegExp[]>();
  const add = (tag: string, name: string) => {
    let s = exact.get(tag);
    if (!s) exact.set(tag, (s = new Set()));
    s.add(name);
  };
  // Cfg: every folder holding a file of its own (info.xml alone binds nothing).
  for (const f of repo.files) {
    if (!f.startsWith("Cfg/")) continue;
    const base = posix.basename(f);
    if (base === "info.xml" || base === ":info") continue;
    add("Path", posix.dirname(f).slice("Cfg".length));
  }
  if (opts.sshbase !== false) for (const b of [...KEY_BASENAMES, "ssh_known_hosts"]) add("Path", `/etc/ssh/${b}`);
  if (opts.packages ?? repo.files.includes("Packages/sources.xml")) {
    patterns.set("Package", [/^/]);
    for (const p of [APT_CONFIG_DEFAULT, YUM_CONFIG_DEFAULT]) add("Path", p);
  }
  // Context/files.xml: Paths the Context plugin binds from parameters.
  const contextFiles = repo.trees.get("Context/files.xml");
  if (contextFiles) for (const e of contextFiles.children) if (e.tag === "Path" && e.attrs.name) add("Path", e.attrs.name);
  for (const [file, root] of repo.trees) {
    if (!file.startsWith("Rules/")) continue;
    walk(root, (e) => {
      const name = e.attrs.name;
      if (STRUCTURAL.has(e.tag) || name === undefined) return;
      if (opts.rulesRegex && REGEX_CHARS.test(name)) {
        try {
          const l = patterns.get(e.tag) ?? [];
          l.push(new RegExp(`^${name}$`));
          patterns.set(e.tag, l);
          return;
        } catch {
          // not a valid regex: the server compares it literally too
        }
      }
      add(e.tag, name);
    });
  }
  return { exact, patterns };
}

/** Entries of bundles that no generator can bind. */
export function checkBindable(repo: ParsedRepository, gens: GeneratorNames): LintProblem[] {
  const out: LintProblem[] = [];
  for (const [file, root] of repo.trees) {
    if (!/^Bundler\/[^/]+\.xml$/.test(file)) continue;
    walk(root, (e, parent) => {
      if (parent === undefined || !ENTRY_TAGS.has(e.tag) || !STRUCTURAL.has(parent.tag)) return;
      if (e.tag === "Path" && e.attrs.glob !== undefined) return;
      const name = e.attrs.altsrc ?? e.attrs.name;
      if (name === undefined) return;
      if (gens.exact.get(e.tag)?.has(name) || gens.patterns.get(e.tag)?.some((r) => r.test(name))) return;
      const where = e.tag === "Path" ? `no Cfg${name}/ files, no Rules entry${name.startsWith("/etc/ssh/") ? ", not an SSHbase key" : ""}` : `no ${e.tag} entry in Rules/`;
      out.push(problem(file, e.line, "no-matching-generator", `${e.tag} "${name}" cannot be bound (${where}); clients would get failure="no matching generator"`));
    });
  }
  return out;
}
