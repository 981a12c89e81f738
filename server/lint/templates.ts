// Template checks: vacfg renders .jinja2 with nunjucks, so a template is good when nunjucks
// can parse and compile it (syntax Jinja2 has but nunjucks lacks fails here too, which is what
// we want: the server could not render it); .genshi and .cheetah must compile with the server's
// own subsets of those languages (a directive outside them is named with its line).
import nunjucks from "nunjucks";
import { compileCheetah } from "../plugins/cfg/cheetah-template.js";
import { compileGenshi } from "../templates/genshi/text.js";
import { problem, type LintProblem } from "./problem.js";

interface NunjucksError extends Error {
  lineno?: number;
  colno?: number;
}

// @types/nunjucks does not declare the parser module, which gives errors a line number.
const parser = (nunjucks as unknown as { parser: { parse(src: string): unknown } }).parser;
const env = new nunjucks.Environment(null, { autoescape: false });

function lastLine(src: string): number {
  const n = src.split("\n").length;
  return src.endsWith("\n") ? n - 1 : n;
}

/** Problems of one .jinja2 file (empty when it parses and compiles). */
export function checkJinja2Template(file: string, src: string): LintProblem[] {
  try {
    parser.parse(src);
    // The compile step catches what the parser lets through (e.g. bad assignments).
    new nunjucks.Template(src, env, file, true);
    return [];
  } catch (err) {
    const e = err as NunjucksError;
    // nunjucks gives no line for errors at end of input (an unclosed block): point there.
    const line = typeof e.lineno === "number" && e.lineno > 0 ? e.lineno : lastLine(src);
    const col = typeof e.colno === "number" && e.colno > 0 ? `, column ${e.colno}` : "";
    const text = String(e.message ?? e)
      .replace(/^\([^)]*\)(?: \[Line \d+, Column \d+\])?\s*/, "")
      .trim();
    return [problem(file, line, "jinja2-syntax-error", `Jinja2 syntax error${col}: ${text}`)];
  }
}

/** Problems of one .genshi or .cheetah file: what the Cfg plugin would refuse to compile. */
export function checkPythonTemplate(file: string, src: string): LintProblem[] {
  const genshi = file.endsWith(".genshi");
  try {
    (genshi ? compileGenshi : compileCheetah)(src, file);
    return [];
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = msg.startsWith(`${file}:`) ? /^(\d+): ([\s\S]*)$/.exec(msg.slice(file.length + 1)) : null;
    const code = genshi ? "genshi-syntax-error" : "cheetah-syntax-error";
    return [m ? problem(file, Number(m[1]), code, m[2]!) : problem(file, 0, code, msg)];
  }
}
