// How a file in a Cfg entry directory is handled, decided from its name alone (upstream's
// handler classes, tried in __priority__ order): info files, key creators, generators.
import { isIgnoredName } from "../shared/ignored-names.js";
import { specificRegex, specificityFromMatch, type Specificity } from "../shared/specificity.js";

export type GeneratorKind = "plain" | "jinja2" | "genshi" | "cheetah" | "authorizedkeys";
export type CreatorKind = "privkey" | "pubkey" | "sslkey" | "sslcert";

export type CfgFile =
  | { role: "info"; kind: "infoxml" | "legacy"; path: string; name: string }
  | { role: "creator"; kind: CreatorKind; path: string; name: string }
  /** `encrypted`: a `.crypt` file (upstream's CfgEncrypted*Generator), decrypted before it is used. */
  | { role: "generator"; kind: GeneratorKind; spec: Specificity; path: string; name: string; encrypted?: boolean };


/** Template-ish handlers, most specific extension first (upstream priority 50 before plain 100). */
const EXTENSION_HANDLERS: Array<{ kind: GeneratorKind; extensions: string[]; encrypted?: boolean }> = [
  { kind: "genshi", extensions: ["genshi.crypt", "crypt.genshi"], encrypted: true },
  { kind: "jinja2", extensions: ["jinja2.crypt", "crypt.jinja2"], encrypted: true },
  { kind: "cheetah", extensions: ["cheetah.crypt", "crypt.cheetah"], encrypted: true },
  { kind: "genshi", extensions: ["genshi"] },
  { kind: "jinja2", extensions: ["jinja2"] },
  { kind: "cheetah", extensions: ["cheetah"] },
  { kind: "plain", extensions: ["crypt"], encrypted: true },
];

/** Include fragments are read by templates, never served (upstream __ignore__). */
const IGNORED_EXTENSIONS = ["genshi_include", "jinja2_include", "cheetah_include"];

/**
 * Classifies `name` found in the entry directory whose last path component is `basename`.
 * Returns undefined for files no handler takes (upstream logs and ignores them).
 */
export function classifyCfgFile(basename: string, name: string, path: string): CfgFile | undefined {
  if (isIgnoredName(name)) return undefined;
  if (name === "info.xml") return { role: "info", kind: "infoxml", path, name };
  if (name === ":info" || name === "info") return { role: "info", kind: "legacy", path, name };
  if (name === "privkey.xml") return { role: "creator", kind: "privkey", path, name };
  if (name === "pubkey.xml") return { role: "creator", kind: "pubkey", path, name };
  if (name === "sslkey.xml") return { role: "creator", kind: "sslkey", path, name };
  if (name === "sslcert.xml") return { role: "creator", kind: "sslcert", path, name };
  if (name === "authorizedkeys.xml" || name === "authorized_keys.xml") {
    return { role: "generator", kind: "authorizedkeys", spec: { kind: "all" }, path, name };
  }
  if (IGNORED_EXTENSIONS.some((e) => name.endsWith("." + e))) return undefined;
  for (const h of EXTENSION_HANDLERS) {
    const m = specificRegex([basename], h.extensions).exec(name);
    if (m) return { role: "generator", kind: h.kind, spec: specificityFromMatch(m), path, name, ...(h.encrypted ? { encrypted: true } : {}) };
  }
  const m = specificRegex([basename], []).exec(name);
  if (m) return { role: "generator", kind: "plain", spec: specificityFromMatch(m), path, name };
  return undefined;
}
