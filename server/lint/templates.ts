// Template checks: .jinja2 files must compile with the server's own Jinja2 engine (syntax,
// unknown filters and tests, constructs it does not implement: each named with its line);
// .genshi and .cheetah must compile with the server's own subsets of those languages.
import { compileCheetah } from "../templates/cheetah/template.js";
import { compileGenshi } from "../templates/genshi/text.js";
import { CompileError } from "../templates/engine.js";
import { Jinja2Engine } from "../templates/jinja2/index.js";
import { problem, type LintProblem } from "./problem.js";

const jinja2 = new Jinja2Engine();

/** Problems of one .jinja2 file (empty when it compiles). */
export function checkJinja2Template(file: string, src: string): LintProblem[] {
  try {
    jinja2.compile(src, file);
    return [];
  } catch (err) {
    if (!(err instanceof CompileError)) throw err;
    return [problem(file, err.line, "jinja2-syntax-error", `Jinja2 syntax error: ${err.detail}`)];
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
