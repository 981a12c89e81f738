// Checks that span files: groups, profiles and bundles named in one file must be
// defined in another (groups.xml, clients.xml, Bundler/, Cfg/ and Probes/ names).
import { isIP } from "node:net";
import { posix } from "node:path";
import type { XmlElement } from "../../protocol/xml.js";
import { globToRegExp } from "../../lib/fnmatch.js";
import { findXIncludes } from "../plugins/shared/xinclude.js";
import { problem, type LintProblem } from "./problem.js";
import { clientNameProblem, quoteName } from "../core/client-name.js";

export interface ParsedRepository {
  /** Every file of the repository (relative paths). */
  files: readonly string[];
  /** Parsed repository XML by relative path (only files that are well formed). */
  trees: ReadonlyMap<string, XmlElement>;
}

const TRUE = new Set(["true", "1"]);

function walk(e: XmlElement, visit: (e: XmlElement, parent: XmlElement | undefined) => void, parent?: XmlElement): void {
  visit(e, parent);
  for (const c of e.children) walk(c, visit, e);
}

interface GroupIndex {
  /** Every group name groups.xml mentions (declarations and conditionals). */
  names: Set<string>;
  profiles: Set<string>;
}

/**
 * groups.xml plus the files it XIncludes, recursively (already parsed into trees), found with the
 * server's own resolver (server/plugins/xinclude.ts): any prefix, hrefs relative to the including
 * file, a glob in the last part; what the server would refuse is skipped here.
 */
function metadataTrees(repo: ParsedRepository): [string, XmlElement][] {
  const out: [string, XmlElement][] = [];
  const seen = new Set<string>();
  const visit = (file: string) => {
    const tree = repo.trees.get(file);
    if (!tree || seen.has(file)) return;
    seen.add(file);
    out.push([file, tree]);
    for (const { el } of findXIncludes(tree)) {
      const href = el.attrs.href;
      if (!href || posix.isAbsolute(href) || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(href)) continue;
      const target = posix.normalize(posix.join(posix.dirname(file), href));
      if (target.startsWith("../")) continue;
      const base = posix.basename(target);
      if (!/[*?[]/.test(base)) visit(target);
      else {
        const re = globToRegExp(base);
        for (const f of repo.files) if (posix.dirname(f) === posix.dirname(target) && re.test(posix.basename(f)) && f !== file) visit(f);
      }
    }
  };
  visit("Metadata/groups.xml");
  return out;
}

/** Group declarations: children of a Groups element (top level, or nested after XInclude). */
function checkGroups(docs: [string, XmlElement][], idx: GroupIndex, repo: ParsedRepository): LintProblem[] {
  const out: LintProblem[] = [];
  const declared = new Map<string, string>();
  const defaults: { file: string; e: XmlElement }[] = [];
  for (const [file, root] of docs) {
    walk(root, (e, parent) => {
      if (e.tag === "Group" && e.attrs.name !== undefined) {
        idx.names.add(e.attrs.name);
        const isDecl = parent?.tag === "Groups" || e.children.length === 0;
        if (!isDecl) return;
        if (TRUE.has(e.attrs.profile ?? "")) idx.profiles.add(e.attrs.name);
        if (TRUE.has(e.attrs.default ?? "")) {
          defaults.push({ file, e });
          if (!TRUE.has(e.attrs.profile ?? "")) {
            out.push(problem(file, e.line, "default-is-not-profile", `default group "${e.attrs.name}" is not profile="true"`));
          }
        }
        if (parent?.tag === "Groups") {
          const prev = declared.get(e.attrs.name);
          if (prev !== undefined) {
            out.push(problem(file, e.line, "duplicate-group", `group "${e.attrs.name}" is declared twice (first at ${prev})`));
          } else declared.set(e.attrs.name, `${file}:${e.line ?? 0}`);
        }
      }
      if (e.tag === "Bundle" && parent?.tag !== undefined && e.attrs.name !== undefined) {
        const n = e.attrs.name;
        if (!repo.files.includes(`Bundler/${n}.xml`)) {
          out.push(problem(file, e.line, "bundle-not-found", `bundle "${n}" has no Bundler/${n}.xml`));
        }
      }
    });
  }
  for (const d of defaults.slice(1)) {
    out.push(problem(d.file, d.e.line, "multiple-default-groups", `more than one default group ("${d.e.attrs.name}")`));
  }
  return out;
}

/** A <Client> or <Alias> whose name, uuid or address the server would leave out (server/core/client-name.ts). */
function clientEntryProblems(file: string, e: XmlElement): LintProblem[] {
  if (e.tag !== "Client" && e.tag !== "Alias") return [];
  const out: LintProblem[] = [];
  const owner = e.tag === "Client" ? "" : " (an alias)";
  for (const attr of e.tag === "Client" ? ["name", "uuid"] : ["name"]) {
    const v = e.attrs[attr];
    if (v === undefined && attr === "uuid") continue;
    const why = clientNameProblem(v ?? "");
    if (why) out.push(problem(file, e.line, "invalid-client-name", `${attr} ${quoteName(v ?? "")}${owner} ${why}; the server ignores this client`));
  }
  const address = e.attrs.address;
  if (address !== undefined && isIP(address) === 0) out.push(problem(file, e.line, "invalid-client-name", `address ${quoteName(address)}${owner} is not an IP address; the server ignores this client`));
  return out;
}

function checkClients(root: XmlElement, idx: GroupIndex): LintProblem[] {
  const out: LintProblem[] = [];
  const file = "Metadata/clients.xml";
  const seen = new Map<string, number>();
  walk(root, (e) => {
    out.push(...clientEntryProblems(file, e));
    if (e.tag !== "Client" || e.attrs.name === undefined) return;
    const { name, profile } = e.attrs;
    const first = seen.get(name);
    if (first !== undefined) out.push(problem(file, e.line, "duplicate-client", `client "${name}" is listed twice (first at line ${first})`));
    else seen.set(name, e.line ?? 0);
    if (profile === undefined) return;
    if (!idx.names.has(profile)) {
      out.push(problem(file, e.line, "nonexistent-profile-group", `client "${name}": profile "${profile}" is not a group in groups.xml`));
    } else if (!idx.profiles.has(profile)) {
      out.push(problem(file, e.line, "non-profile-set-as-profile", `client "${name}": group "${profile}" is not profile="true"`));
    }
  });
  return out;
}

// Files whose <Group name=..> elements are conditionals on a client's groups.
const CONDITIONAL_FILES = /^(Bundler|Rules|Defaults|Decisions)\/[^/]+\.xml$|^(Cfg|SSHbase)\/(.+\/)?info\.xml$/;

function checkConditionals(repo: ParsedRepository, idx: GroupIndex): LintProblem[] {
  const out: LintProblem[] = [];
  for (const [file, root] of repo.trees) {
    if (!CONDITIONAL_FILES.test(file)) continue;
    walk(root, (e) => {
      if (e.tag === "Group" && e.attrs.name !== undefined && !idx.names.has(e.attrs.name)) {
        out.push(problem(file, e.line, "undefined-group", `group "${e.attrs.name}" is not defined in groups.xml`));
      }
    });
  }
  return out;
}

const CFG_GROUP_SUFFIX = /^G\d+_(.+?)(\.(jinja2|genshi|cheetah|crypt))?$/;
const PROBE_NAME = /^(?<name>\S+?)(\.(?<mode>G\d\d|H)_(?<who>\S+))?$/;

/** Specificity suffixes (file.G50_group, probe.G50_group) must name known groups. */
function checkSpecificity(repo: ParsedRepository, idx: GroupIndex): LintProblem[] {
  const out: LintProblem[] = [];
  for (const file of repo.files) {
    const parts = file.split("/");
    const fname = parts[parts.length - 1];
    if (parts[0] === "Cfg" && parts.length >= 3) {
      const base = parts[parts.length - 2];
      if (!fname.startsWith(`${base}.`)) continue;
      const m = CFG_GROUP_SUFFIX.exec(fname.slice(base.length + 1));
      if (m && !idx.names.has(m[1])) out.push(problem(file, 0, "undefined-group", `group "${m[1]}" is not defined in groups.xml`));
    } else if (parts[0] === "Probes" && parts.length === 2) {
      const m = PROBE_NAME.exec(fname);
      if (m?.groups?.mode?.startsWith("G") && !idx.names.has(m.groups.who)) {
        out.push(problem(file, 0, "undefined-group", `group "${m.groups.who}" is not defined in groups.xml`));
      }
    }
  }
  return out;
}

/** Probe file names: a probe name without white space, optionally .G##_group or .H_host. */
export function checkProbeNames(files: readonly string[]): LintProblem[] {
  const out: LintProblem[] = [];
  for (const file of files) {
    const parts = file.split("/");
    if (parts[0] !== "Probes") continue;
    if (parts.length !== 2) {
      out.push(problem(file, 0, "invalid-probe-name", "probes are files directly in Probes/ (sub-folders are not read)"));
      continue;
    }
    if (parts[1] === "probed.xml") continue; // probe data the server writes
    if (/\s/.test(parts[1]) || !PROBE_NAME.test(parts[1])) {
      out.push(problem(file, 0, "invalid-probe-name", `"${parts[1]}" is not a valid probe name (no white space allowed)`));
    }
  }
  return out;
}

/** All cross-file checks; skipped (empty) when groups.xml is missing or did not parse. */
export function checkCrossReferences(repo: ParsedRepository): LintProblem[] {
  const docs = metadataTrees(repo);
  if (docs.length === 0) return [];
  const idx: GroupIndex = { names: new Set(), profiles: new Set() };
  const out = checkGroups(docs, idx, repo);
  const clients = repo.trees.get("Metadata/clients.xml");
  if (clients) out.push(...checkClients(clients, idx));
  out.push(...checkConditionals(repo, idx), ...checkSpecificity(repo, idx));
  return out;
}
