// Checks of file contents outside XML: bcfg2-lint's ValidateJSON (Properties/*.json parse),
// TemplateAbuse (a template that is executable or a script), MergeFiles (Cfg and Probes
// alternatives that are identical, or so alike they should be one file).
import { statSync } from "node:fs";
import { join, posix } from "node:path";
import { problem, type LintProblem } from "./problem.js";

/** 1-based line of a character offset. */
function lineAt(src: string, offset: number): number {
  return src.slice(0, offset).split("\n").length;
}

/**
 * Where JSON.parse gave up: V8 names the offset for some errors only, so a small scanner of the
 * JSON grammar finds the first offset that cannot continue a valid document.
 */
function jsonErrorOffset(src: string): number {
  let i = 0;
  const ws = () => {
    while (i < src.length && " \t\n\r".includes(src[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const lit = (w: string) => (src.startsWith(w, i) ? (i += w.length) : fail());
  const str = () => {
    i++;
    while (i < src.length && src[i] !== '"') {
      if (src.charCodeAt(i) < 0x20) fail();
      i += src[i] === "\\" ? 2 : 1;
    }
    if (i >= src.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = src[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      ws();
      if (src[i] === close) return void i++;
      for (;;) {
        if (c === "{") {
          ws();
          if (src[i] !== '"') fail();
          str();
          ws();
          if (src[i] !== ":") fail();
          i++;
        }
        value();
        ws();
        if (src[i] === ",") i++;
        else if (src[i] === close) return void i++;
        else fail();
      }
    }
    if (c === '"') return str();
    if (c === "t") return void lit("true");
    if (c === "f") return void lit("false");
    if (c === "n") return void lit("null");
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value();
    ws();
    return i < src.length ? i : -1;
  } catch (at) {
    return at as number;
  }
}

/** ValidateJSON: one JSON Properties file. */
export function checkJsonProperty(file: string, src: string): LintProblem[] {
  try {
    JSON.parse(src);
    return [];
  } catch (e) {
    const at = jsonErrorOffset(src);
    return [problem(file, at >= 0 ? lineAt(src, at) : 0, "json-failed-to-parse", `JSON does not parse: ${(e as Error).message.replace(/\s+/g, " ")}`)];
  }
}

const TEMPLATE = /\.(jinja2|genshi|cheetah)$/;

/** TemplateAbuse: templates are data the server renders; an executable bit or a #! line means a script was templated. */
export function checkTemplateAbuse(repoDir: string, file: string, src: string): LintProblem[] {
  if (!file.startsWith("Cfg/") || !TEMPLATE.test(file)) return [];
  const out: LintProblem[] = [];
  if (statSync(join(repoDir, file)).mode & 0o111) {
    out.push(problem(file, 0, "templated-executable", "template is executable on disk; set the client file's mode in info.xml, and keep the template itself 0644"));
  }
  if (src.startsWith("#!")) out.push(problem(file, 1, "templated-script", "template of a script (#! line): consider a static file and a Property or probe instead"));
  return out;
}

/** The alternatives of one Cfg entry (its specific files) or of one probe, grouped. */
function alternatives(files: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of files) {
    const parts = f.split("/");
    let key: string | undefined;
    if (parts[0] === "Cfg" && parts.length >= 3) {
      const base = parts[parts.length - 2];
      const name = parts[parts.length - 1];
      // the entry's own files (plain or .G##_/.H_ specific), not info.xml or generators' XML
      if (name === base || new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(G\\d+_|H_)`).test(name)) key = posix.dirname(f);
    } else if (parts[0] === "Probes" && parts.length === 2 && parts[1] !== "probed.xml") {
      key = `Probes/${parts[1].replace(/\.(G\d\d|H)_.*$/, "")}`;
    }
    if (key === undefined) continue;
    const l = out.get(key);
    if (l) l.push(f);
    else out.set(key, [f]);
  }
  return out;
}

/** Share of lines two texts have in common (Dice coefficient over line multisets). */
function similarity(a: string, b: string): number {
  const la = a.split("\n");
  const lb = b.split("\n");
  const count = new Map<string, number>();
  for (const l of la) count.set(l, (count.get(l) ?? 0) + 1);
  let common = 0;
  for (const l of lb) {
    const n = count.get(l) ?? 0;
    if (n > 0) {
      common++;
      count.set(l, n - 1);
    }
  }
  return (2 * common) / (la.length + lb.length);
}

/** MergeFiles: identical alternatives are an error, similar ones (>= threshold) a warning. */
export function checkMergeFiles(files: readonly string[], read: (file: string) => string | undefined, threshold = 0.75): LintProblem[] {
  const out: LintProblem[] = [];
  for (const [key, group] of alternatives(files)) {
    if (group.length < 2) continue;
    const kind = key.startsWith("Probes/") ? "probes" : "cfg";
    const texts = group.map((f) => read(f));
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const a = texts[i];
        const b = texts[j];
        if (a === undefined || b === undefined) continue;
        if (a === b) out.push(problem(group[j], 0, kind === "cfg" ? "identical-cfg" : "identical-probes", `identical to ${group[i]}: one file with a broader group would do`));
        else {
          const r = similarity(a, b);
          if (r >= threshold) out.push(problem(group[j], 0, kind === "cfg" ? "merge-cfg" : "merge-probes", `${Math.round(r * 100)}% the same as ${group[i]}: consider one template or a broader group`));
        }
      }
    }
  }
  return out;
}
