// bcfg2-lint's RequiredAttrs and InfoXML: attributes an entry must have, and their formats,
// that the XSDs alone do not check (a Path directory without mode, an info.xml mode="0999").
import type { XmlElement } from "../../protocol/xml.js";
import { problem, type LintProblem } from "./problem.js";
import type { ParsedRepository } from "./cross-refs.js";

type Check = ((v: string) => boolean) | null;

const isFilename = (v: string) => v.startsWith("/") && v.length > 1;
// Upstream: re.match(r'[0-7]{3,4}', val), here anchored at both ends (upstream accepts "07779").
const isOctalMode = (v: string) => /^[0-7]{3,4}$/.test(v);
const isUsername = (v: string) => /^([A-Za-z][-_A-Za-z0-9]{0,30}|\d+)$/.test(v);
const oneOf = (...xs: string[]) => (v: string) => xs.includes(v);

const OWNED = { owner: isUsername, group: isUsername, mode: isOctalMode };

/** Upstream RequiredAttrs' table for the entry types vacfg serves. */
const REQUIRED: Record<string, Record<string, Record<string, Check>>> = {
  Path: {
    __any__: { name: isFilename },
    augeas: OWNED,
    device: { ...OWNED, dev_type: oneOf("block", "char", "fifo") },
    directory: OWNED,
    file: OWNED,
    hardlink: { ...OWNED, to: isFilename },
    symlink: {},
    ignore: {},
    nonexistent: {},
    permissions: OWNED,
  },
  Service: { __any__: { name: null } },
  Package: { __any__: { name: null } },
  Action: {
    __any__: { name: null, timing: oneOf("pre", "post", "both"), when: oneOf("modified", "always"), status: oneOf("ignore", "check"), command: null },
  },
  POSIXGroup: { __any__: { name: isUsername } },
  POSIXUser: { __any__: { name: isUsername } },
};

const STRUCTURAL = new Set(["Group", "Client", "Bundle", "Independent", "RequiredBundle", "Rules", "Defaults", "MemberOf", "Instance", "Ignore"]);

/** Attributes some Defaults file supplies for a tag (Defaults fills them before binding). */
function defaultedAttrs(repo: ParsedRepository): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [file, root] of repo.trees) {
    if (!file.startsWith("Defaults/")) continue;
    const walk = (e: XmlElement) => {
      if (!STRUCTURAL.has(e.tag)) {
        let s = out.get(e.tag);
        if (!s) out.set(e.tag, (s = new Set()));
        for (const k of Object.keys(e.attrs)) s.add(k);
      }
      e.children.forEach(walk);
    };
    root.children.forEach(walk);
  }
  return out;
}

function checkEntry(file: string, e: XmlElement, tag: string, defaults: Map<string, Set<string>>, out: LintProblem[], bound: boolean): void {
  const table = REQUIRED[tag];
  if (!table) return; // the XSDs decide which tags may appear
  const type = e.attrs.type;
  const attrs = (type !== undefined ? table[type] : undefined) ?? (tag === "Path" && type !== undefined ? undefined : table.__any__);
  const label = `${bound ? "Bound" : ""}${tag}${e.attrs.name !== undefined ? ` "${e.attrs.name}"` : ""}`;
  if (!attrs) {
    out.push(problem(file, e.line, "unknown-entry-type", `${label}: unknown ${tag} type "${type}"`));
    return;
  }
  const required = { ...(tag === "Path" ? REQUIRED.Path.__any__ : {}), ...attrs };
  const missing: string[] = [];
  for (const [attr, valid] of Object.entries(required)) {
    const v = e.attrs[attr];
    if (v === undefined) {
      if (!defaults.get(tag)?.has(attr)) missing.push(attr);
    } else if (valid && !valid(v)) {
      out.push(problem(file, e.line, "required-attr-format", `${label}: ${attr}="${v}" is not a valid ${attr}`));
    }
  }
  if (missing.length) out.push(problem(file, e.line, "required-attrs-missing", `${label}${type ? ` (type ${type})` : ""} is missing required attribute(s): ${missing.join(", ")}`));
  if (bound && tag === "Path" && type === "file" && !e.text && e.attrs.empty !== "true") {
    out.push(problem(file, e.line, "required-attrs-missing", `${label} (type file) has no content and no empty="true"`));
  }
}

/** RequiredAttrs: Rules entries and Bound* entries in bundles; abstract bundle Paths need name or glob. */
export function checkRequiredAttrs(repo: ParsedRepository): LintProblem[] {
  const out: LintProblem[] = [];
  const defaults = defaultedAttrs(repo);
  for (const [file, root] of repo.trees) {
    const rules = file.startsWith("Rules/");
    const bundle = file.startsWith("Bundler/");
    if (!rules && !bundle) continue;
    const walk = (e: XmlElement) => {
      if (rules && !STRUCTURAL.has(e.tag)) checkEntry(file, e, e.tag, defaults, out, false);
      else if (bundle && e.tag.startsWith("Bound")) checkEntry(file, e, e.tag.slice(5), defaults, out, true);
      else if (bundle && e.tag === "Path" && e.attrs.name === undefined && e.attrs.glob === undefined) {
        out.push(problem(file, e.line, "required-attrs-missing", "Path needs a name or a glob attribute"));
      } else if (bundle && e.tag === "Package" && e.attrs.name === undefined && e.attrs.group === undefined) {
        out.push(problem(file, e.line, "required-attrs-missing", "Package needs a name or a group attribute"));
      }
      if (STRUCTURAL.has(e.tag) || e.tag === root.tag) e.children.forEach(walk);
    };
    walk(root);
  }
  return out;
}

/** InfoXML: each Info element's owner, group and mode present (upstream's default required_attrs) and well formed. */
export function checkInfoXml(repo: ParsedRepository, required: readonly string[] = ["owner", "group", "mode"]): LintProblem[] {
  const out: LintProblem[] = [];
  for (const [file, root] of repo.trees) {
    if (!/^(Cfg|SSHbase)\/(.+\/)?info\.xml$/.test(file)) continue;
    const walk = (e: XmlElement) => {
      if (e.tag === "Info") {
        const missing = required.filter((a) => e.attrs[a] === undefined);
        if (missing.length) out.push(problem(file, e.line, "required-infoxml-attrs-missing", `Info is missing required attribute(s): ${missing.join(", ")}`));
        for (const [attr, valid] of Object.entries(OWNED)) {
          const v = e.attrs[attr];
          if (v !== undefined && !valid(v)) out.push(problem(file, e.line, "infoxml-attr-format", `Info: ${attr}="${v}" is not a valid ${attr}${attr === "mode" ? " (octal, 3 or 4 digits 0-7)" : ""}`));
        }
      }
      e.children.forEach(walk);
    };
    walk(root);
  }
  return out;
}
