// lintRepository: every check over one repository folder, merged into one sorted list
// of file:line problems.  Parsing and validation go file by file; a broken file never
// stops the others from being checked.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseXml, type XmlElement } from "../../protocol/xml.js";
import { isVacfgError } from "../../protocol/errors.js";
import { checkCrossReferences, checkProbeNames } from "./cross-refs.js";
import { loadSchemaDir, runLibxml, type LibxmlMessage, type SchemaSet, type XmlDocument } from "./libxml.js";
import { problem, sortProblems, type LintProblem } from "./problem.js";
import { listRepositoryFiles } from "./repo-files.js";
import { defaultSchemaDir } from "./schema-dir.js";
import { isRepositoryXml, schemaFor } from "./schema-map.js";
import { checkJinja2Template, checkPythonTemplate } from "./templates.js";
import { checkOfCode, defaultChecks, severityOf, type LintConfig } from "./checks.js";
import { checkComments, kindOf } from "./comments.js";
import { checkJsonProperty, checkMergeFiles, checkTemplateAbuse } from "./content-checks.js";
import { checkInfoXml, checkRequiredAttrs } from "./entry-checks.js";
import { checkBindable, checkGroupNames, checkUnusedBundles, generatorNames } from "./structure-checks.js";
import { resolveXIncludes } from "../plugins/shared/xinclude.js";

export interface LintOptions {
  /** Folder of the .xsd files (default: the project's schemas/). */
  schemaDir?: string;
  /** Which checks run, severities, and the settings checks read (checks.ts). */
  config?: LintConfig;
}

/** Repository XML and templates are small; anything bigger is a mistake, not content. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Genshi and Cheetah templates the Cfg plugin renders (Bundler's Genshi bundles it does not). */
const CFG_PYTHON_TEMPLATE = /^Cfg\/.+\.(genshi|cheetah)$/;
const UNSUPPORTED_TEMPLATE = /^Bundler\/[^/]+\.genshi$/;

interface XmlFileState {
  file: string;
  src: string;
  tree?: XmlElement;
  /** parseXml's complaint, used only when libxml2 finds none (they rarely disagree). */
  parseProblem?: LintProblem;
}

/** Splits "source:line: message" (protocol/xml.ts errors) into line and message. */
function fromXmlError(file: string, err: unknown): LintProblem {
  const msg = err instanceof Error ? err.message : String(err);
  const rest = msg.startsWith(`${file}:`) ? msg.slice(file.length + 1) : msg;
  const m = /^(\d+): ([\s\S]*)$/.exec(rest);
  const doctype = isVacfgError(err) && err.code === "XML_DOCTYPE";
  const code = doctype ? "xml-doctype" : "xml-failed-to-parse";
  return m ? problem(file, Number(m[1]), code, m[2]) : problem(file, 0, code, rest.trim());
}

function readSmall(root: string, file: string, out: LintProblem[]): string | undefined {
  const abs = join(root, file);
  if (statSync(abs).size > MAX_FILE_BYTES) {
    out.push(problem(file, 0, "file-too-large", `file is larger than ${MAX_FILE_BYTES} bytes`));
    return undefined;
  }
  return readFileSync(abs, "utf8");
}

/** Which schema set validates this file, and a key naming it (undefined: well-formedness only). */
function schemaSetFor(state: XmlFileState, root: string, schemaDir: string): { key: string; set: SchemaSet } | undefined {
  const kind = schemaFor(state.file);
  if (kind === undefined) return undefined;
  const ours = (main: string) => ({ key: `schemas/${main}`, set: { main, files: loadSchemaDir(schemaDir) } });
  if (kind === "properties") {
    const sibling = state.file.replace(/\.xml$/, ".xsd");
    if (!existsSync(join(root, sibling))) return ours("properties.xsd");
    return { key: sibling, set: { main: sibling.slice("Properties/".length), files: loadSchemaDir(join(root, "Properties")) } };
  }
  if (kind === "metadata-by-root") return ours(state.tree?.tag === "Clients" ? "clients.xsd" : "metadata.xsd");
  return ours(kind);
}

/** Runs libxml2 once per schema set, all batches at once. */
async function validateAll(states: XmlFileState[], root: string, schemaDir: string): Promise<LibxmlMessage[]> {
  const batches = new Map<string, { schema?: SchemaSet; docs: XmlDocument[] }>();
  for (const s of states) {
    const found = schemaSetFor(s, root, schemaDir);
    const key = found?.key ?? "";
    let b = batches.get(key);
    if (!b) batches.set(key, (b = { schema: found?.set, docs: [] }));
    b.docs.push({ file: s.file, contents: s.src });
  }
  const results = await Promise.all(
    [...batches.values()].map(async (b) => {
      try {
        return await runLibxml(b.docs, b.schema);
      } catch (err) {
        // Only a schema that does not compile gets here (a repository Properties/*.xsd).
        const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
        return b.docs.map((d): LibxmlMessage => ({ file: d.file, line: 0, kind: "other", message: `schema ${b.schema?.main} failed: ${msg}` }));
      }
    }),
  );
  return results.flat();
}

/** What the server's resolver would refuse in this file's xi:includes (missing file, cycle, a way out of the repository). */
function checkXIncludes(s: XmlFileState, repoDir: string): LintProblem[] {
  if (!s.src.includes("XInclude")) return [];
  try {
    resolveXIncludes(parseXml(s.src, { source: join(repoDir, s.file) }), join(repoDir, s.file), { repo: repoDir });
    return [];
  } catch (err) {
    // The resolver names the file and line of the failing include, which may be a file this one includes.
    const msg = (err instanceof Error ? err.message : String(err)).replaceAll(`${repoDir}/`, "");
    const m = /^([^\n:]+):(\d+): ([\s\S]*)$/.exec(msg);
    return [m ? problem(m[1]!, Number(m[2]), "xinclude-failed", m[3]!) : problem(s.file, 0, "xinclude-failed", msg)];
  }
}

/** Lints a Bcfg2-layout repository; resolves to the problems found (empty when clean). */
export async function lintRepository(repoDir: string, opts: LintOptions = {}): Promise<LintProblem[]> {
  const schemaDir = opts.schemaDir ?? defaultSchemaDir();
  if (!existsSync(join(repoDir, "Metadata"))) {
    return [{ ...problem(repoDir, 0, "repo-not-found", "not a repository: no Metadata/ folder"), severity: "error" }];
  }
  const config = opts.config ?? {};
  const enabled = config.checks ?? defaultChecks();
  const files = listRepositoryFiles(repoDir);
  const out: LintProblem[] = [];
  const xmlStates: XmlFileState[] = [];
  const texts = new Map<string, string | undefined>();
  const read = (file: string): string | undefined => {
    if (!texts.has(file)) texts.set(file, readSmall(repoDir, file, out));
    return texts.get(file);
  };

  for (const file of files) {
    if (enabled.has("Comments") && config.comments && kindOf(file)) {
      const src = read(file);
      if (src !== undefined) out.push(...checkComments(file, src, config.comments));
    }
    if (/^Properties\/.+\.json$/.test(file)) {
      const src = read(file);
      if (src !== undefined) out.push(...checkJsonProperty(file, src));
    }
    if (isRepositoryXml(file)) {
      const src = read(file);
      if (src === undefined) continue;
      const state: XmlFileState = { file, src };
      try {
        state.tree = parseXml(src, { source: file, maxBytes: MAX_FILE_BYTES });
      } catch (err) {
        state.parseProblem = fromXmlError(file, err);
        // DOCTYPE is refused outright and never reaches libxml2 (no entity expansion anywhere).
        if (state.parseProblem.code === "xml-doctype") {
          out.push(state.parseProblem);
          continue;
        }
      }
      xmlStates.push(state);
    } else if (file.endsWith(".jinja2")) {
      const src = read(file);
      if (src !== undefined) out.push(...checkJinja2Template(file, src), ...checkTemplateAbuse(repoDir, file, src));
    } else if (CFG_PYTHON_TEMPLATE.test(file)) {
      const src = read(file);
      if (src !== undefined) out.push(...checkPythonTemplate(file, src), ...checkTemplateAbuse(repoDir, file, src));
    } else if (UNSUPPORTED_TEMPLATE.test(file)) {
      out.push(problem(file, 0, "unsupported-template", "Genshi bundles are not rendered by vacfg; use an XML bundle"));
    }
  }
  out.push(...checkProbeNames(files));

  const messages = await validateAll(xmlStates, repoDir, schemaDir);
  const byFile = new Map<string, LibxmlMessage[]>();
  for (const m of messages) byFile.set(m.file, [...(byFile.get(m.file) ?? []), m]);

  const trees = new Map<string, XmlElement>();
  for (const s of xmlStates) {
    const msgs = byFile.get(s.file) ?? [];
    const parseMsgs = msgs.filter((m) => m.kind === "parse");
    if (parseMsgs.length > 0) {
      // Only the first: libxml2 recovers and cascades, and the rest are echoes of it.
      out.push(problem(s.file, parseMsgs[0].line, "xml-failed-to-parse", parseMsgs[0].message));
      continue;
    }
    if (s.parseProblem || !s.tree) {
      if (s.parseProblem) out.push(s.parseProblem);
      continue;
    }
    for (const m of msgs) out.push(problem(s.file, m.line, "xml-failed-to-verify", m.message));
    out.push(...checkXIncludes(s, repoDir));
    trees.set(s.file, s.tree);
  }
  const repo = { files, trees };
  out.push(...checkCrossReferences(repo));
  out.push(...checkRequiredAttrs(repo), ...checkInfoXml(repo), ...checkGroupNames(repo), ...checkUnusedBundles(repo));
  out.push(...checkBindable(repo, generatorNames(repo, { rulesRegex: config.rulesRegex, sshbase: config.sshbase, packages: config.packages })));
  if (enabled.has("MergeFiles")) out.push(...checkMergeFiles(files, read, config.mergeThreshold));
  // An include that fails is met from every file that reaches it: report it once.
  const unique = new Map(out.map((p) => [`${p.file}\0${p.line}\0${p.code}\0${p.message}`, p]));
  const kept: LintProblem[] = [];
  for (const p of unique.values()) {
    const check = checkOfCode(p.code);
    const severity = severityOf(p.code, config);
    if ((check && !enabled.has(check.name)) || severity === "silent") continue;
    kept.push({ ...p, severity });
  }
  return sortProblems(kept);
}
