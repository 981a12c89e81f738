// The one door to libxml2 (xmllint compiled to WebAssembly, package xmllint-wasm):
// well-formedness as libxml2/lxml see it, and XSD validation, with every message
// mapped back to the caller's file and line.  libxml2 is what upstream Bcfg2 parses
// and validates with, so its verdicts are the reference.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { memoryPages, validateXML, type XMLFileInfo } from "xmllint-wasm";

export interface XmlDocument {
  /** The caller's name for the document (a repository-relative path); only used in results. */
  file: string;
  contents: string;
}

export interface SchemaSet {
  /** File name of the main schema within the set. */
  main: string;
  /** Every schema file of the set by file name (includes/imports resolve by name). */
  files: ReadonlyMap<string, string>;
}

export interface LibxmlMessage {
  file: string;
  line: number;
  /** parse: not well formed; schema: does not validate; other: anything else libxml2 said. */
  kind: "parse" | "schema" | "other";
  message: string;
}

const schemaDirCache = new Map<string, Map<string, string>>();

/** Loads every .xsd of a directory once per process (schemas include each other by file name). */
export function loadSchemaDir(dir: string): Map<string, string> {
  let files = schemaDirCache.get(dir);
  if (!files) {
    files = new Map();
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith(".xsd")) files.set(name, readFileSync(join(dir, name), "utf8"));
    }
    schemaDirCache.set(dir, files);
  }
  return files;
}

// Repository XML is small; the cap only keeps a pathological batch from failing for lack of room.
const MAX_MEMORY_PAGES = 512 * memoryPages.MiB;

const PREFIXES: [RegExp, LibxmlMessage["kind"]][] = [
  [/^(?:element \S+: )?Schemas validity error : /, "schema"],
  [/^(?:element \S+: )?Schemas parser error : /, "other"],
  [/^parser error : /, "parse"],
  [/^namespace error : /, "parse"],
];

function classify(message: string): { kind: LibxmlMessage["kind"]; text: string } {
  for (const [re, kind] of PREFIXES) {
    if (re.test(message)) return { kind, text: message.replace(re, "").trim() };
  }
  return { kind: "other", text: message.trim() };
}

/**
 * Runs libxml2 over a batch of documents: with a schema set, validates them (parse
 * errors are reported too); without, only parses them.  Documents get synthetic names
 * inside the wasm file system, so no path can be mistaken for an xmllint option.
 * Rejects only when libxml2 itself cannot run (e.g. the schema does not compile).
 */
export async function runLibxml(docs: XmlDocument[], schema?: SchemaSet): Promise<LibxmlMessage[]> {
  if (docs.length === 0) return [];
  const byName = new Map<string, string>();
  const xml: XMLFileInfo[] = docs.map((d, i) => {
    const fileName = `doc${i}.xml`;
    byName.set(fileName, d.file);
    return { fileName, contents: d.contents };
  });
  const common = { xml, initialMemoryPages: memoryPages.defaultInitialMemoryPages, maxMemoryPages: MAX_MEMORY_PAGES };
  const result = schema
    ? await validateXML({
        ...common,
        schema: [{ fileName: schema.main, contents: schema.files.get(schema.main) ?? "" }],
        preload: [...schema.files].filter(([n]) => n !== schema.main).map(([fileName, contents]) => ({ fileName, contents })),
      })
    : await validateXML({ ...common, normalization: "format" });
  const out: LibxmlMessage[] = [];
  for (const e of result.errors) {
    // Lines without a location are libxml2's context echo (source line, caret): skip them.
    if (!e.loc) continue;
    const file = byName.get(e.loc.fileName);
    if (file === undefined) continue;
    const { kind, text } = classify(e.message);
    out.push({ file, line: e.loc.lineNumber, kind, message: text });
  }
  // Never let a failing document pass silently, even if libxml2 said nothing we could place.
  for (const m of result.rawOutput.matchAll(/^(doc\d+\.xml) fails to (validate|parse)/gm)) {
    const file = byName.get(m[1]);
    if (file !== undefined && !out.some((o) => o.file === file)) {
      out.push({ file, line: 0, kind: m[2] === "parse" ? "parse" : "schema", message: `fails to ${m[2]}` });
    }
  }
  return out;
}
