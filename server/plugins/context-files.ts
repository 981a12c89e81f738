// Context/files.xml (vacfg extension): Paths whose content is one of the client's checked
// contextualization parameters — the host certificate and key, generated secrets such as the MUNGE
// key — so they land on the node with the owner and mode the repository gives, while their bytes
// live only in the site-signed parameter file (never in the repository). Bundles list these Paths
// like any other; the Context plugin binds them (Generator role).
import { VacfgError } from "../../protocol/errors.js";
import type { XmlElement } from "../../protocol/xml.js";
import { parseRepoXml } from "./shared/xml-match.js";

export interface ContextFileRule {
  /** The Path's name on the client. */
  path: string;
  /** The parameter holding the content. */
  param: string;
  /** For a named-list parameter: the item whose value is the content (e.g. cert, key, ca). */
  item?: string;
  owner: string;
  group: string;
  mode: string;
  line: number;
}

const MODE = /^[0-7]{3,4}$/;
const POSIX_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

export function parseContextFiles(text: string, file: string): Map<string, ContextFileRule> {
  const root = parseRepoXml(text, file);
  if (root.tag !== "ContextFiles") {
    throw new VacfgError("REPO_FILE", `${file}:${root.line ?? 1}: root element is <${root.tag}>, expected <ContextFiles>`);
  }
  const out = new Map<string, ContextFileRule>();
  for (const c of root.children.filter((e: XmlElement) => e.tag === "Path")) {
    const at = `${file}:${c.line ?? 0}`;
    const { name, param, item } = c.attrs;
    const owner = c.attrs.owner ?? "root";
    const group = c.attrs.group ?? "root";
    const mode = c.attrs.mode ?? "0600";
    if (!name?.startsWith("/") || name.split("/").includes("..")) throw new VacfgError("REPO_FILE", `${at}: <Path> needs an absolute name= without '..'`);
    if (!param) throw new VacfgError("REPO_FILE", `${at}: <Path name="${name}"> needs param=`);
    if (!MODE.test(mode)) throw new VacfgError("REPO_FILE", `${at}: mode="${mode}" is not an octal mode`);
    for (const [k, v] of [["owner", owner], ["group", group]]) {
      if (!POSIX_NAME.test(v)) throw new VacfgError("REPO_FILE", `${at}: ${k}="${v}" is not a user or group name`);
    }
    if (out.has(name)) throw new VacfgError("REPO_FILE", `${at}: ${name} is listed twice (first at line ${out.get(name)!.line})`);
    out.set(name, { path: name, param, ...(item ? { item } : {}), owner, group, mode: mode.padStart(4, "0"), line: c.line ?? 0 });
  }
  return out;
}

/**
 * The content a rule takes from checked parameters (Context params in JSON form); throws an error
 * naming the parameter when the client's signed parameters do not hold it.
 */
export function contextFileContent(rule: ContextFileRule, params: Record<string, unknown>): string {
  const v = params[rule.param];
  if (v === undefined) throw new Error(`parameter "${rule.param}" is not in this client's signed parameters`);
  if (rule.item === undefined) {
    if (typeof v !== "string") throw new Error(`parameter "${rule.param}" is a list; Context/files.xml line ${rule.line} needs item= to pick one of its items`);
    return v;
  }
  const found = Array.isArray(v) ? v.find((i) => typeof i === "object" && i !== null && (i as { name?: unknown }).name === rule.item) : undefined;
  const value = (found as { value?: unknown } | undefined)?.value;
  if (typeof value !== "string") throw new Error(`parameter "${rule.param}" has no item "${rule.item}"`);
  return value;
}
