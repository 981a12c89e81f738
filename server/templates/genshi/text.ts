// Genshi NewTextTemplate (Bcfg2's .genshi Cfg files): ${expr}, $name, {% for %}, {% if %},
// {% choose/when/otherwise %}, {% with %}, {% python %} (statements), {% end %}, {# #} and
// backslash escapes, with code in the safe Python subset of ../python/.
import { bindTargets, evaluate, parseExpression, parseForHead, type Node, type Scope } from "../python/expr.js";
import { execute } from "../python/statements.js";
import type { CompiledTemplate } from "../engine.js";
import { compileSuite, flattenValue, interpolate, lineCounter, suiteErrorLine, type Part, type Suite } from "./code.js";
import { Frame } from "./context.js";
import { describe, RenderError } from "./render-error.js";
import { iterate, pyEq, PyException, truthy } from "../python/values.js";

type GNode =
  | { k: "text"; s: string }
  | { k: "expr"; e: Node; line: number }
  | { k: "python"; suite: Suite; line: number }
  | { k: "for"; targets: string[]; it: Node; body: GNode[]; line: number }
  | { k: "if"; c: Node; body: GNode[]; line: number }
  | { k: "choose"; c?: Node; body: GNode[]; line: number }
  | { k: "when"; c: Node; body: GNode[]; line: number }
  | { k: "otherwise"; body: GNode[]; line: number }
  | { k: "with"; suite: Suite; body: GNode[]; line: number };

const DIRECTIVE_RE = /((?<!\\)\{%\s*(\w+)\s*([\s\S]*?)\s*%\}|(?<!\\)\{#[\s\S]*?#\})/g;
const ESCAPE_RE = /\\\n|\\\r\n|\\(\\)|\\(\{%)|\\(\{#)/g;

function parts(ps: Part[]): GNode[] {
  return ps.map((p) => (typeof p === "string" ? { k: "text", s: p } : { k: "expr", e: p.expr, line: p.line }));
}

function parseTemplate(src: string, file: string): GNode[] {
  const lineOf = lineCounter(src);
  const root: GNode[] = [];
  const stack: Array<GNode & { body: GNode[]; line: number }> = [];
  const current = () => (stack.length ? stack[stack.length - 1]!.body : root);
  let offset = 0;
  const text = (from: number, to: number) => {
    if (to <= from) return;
    // Escapes are applied per text chunk; offsets for line numbers stay on the raw source.
    const raw = src.slice(from, to);
    let last = 0;
    const pieces: Array<[string, number]> = [];
    raw.replace(ESCAPE_RE, (m, bs?: string, d?: string, c?: string, at?: number) => {
      pieces.push([raw.slice(last, at), from + last]);
      const keep = bs ?? d ?? c ?? "";
      if (keep) pieces.push([keep, -1]);
      last = (at as number) + m.length;
      return m;
    });
    pieces.push([raw.slice(last), from + last]);
    for (const [s, at] of pieces) {
      if (at < 0) current().push({ k: "text", s }); // escaped delimiters are literal, never interpolated
      else current().push(...parts(interpolate(s, file, lineOf, at)));
    }
  };
  for (const m of src.matchAll(DIRECTIVE_RE)) {
    const start = m.index!;
    text(offset, start);
    offset = start + m[0].length;
    if (!m[2]) continue; // {# comment #}
    const command = m[2];
    const value = m[3] ?? "";
    const line = lineOf(start);
    const valueLine = lineOf(start + m[0].indexOf(value, 2 + command.length));
    if (command === "end") {
      if (!stack.pop()) throw new RenderError(file, line, "TemplateSyntaxError: {% end %} without an open directive");
      continue;
    }
    if (command === "python") {
      current().push({ k: "python", suite: compileSuite(value, file, valueLine), line });
      continue;
    }
    let node: GNode & { body: GNode[]; line: number };
    try {
      switch (command) {
        case "for": {
          const h = parseForHead(value);
          node = { k: "for", targets: h.targets, it: h.it, body: [], line };
          break;
        }
        case "if":
          node = { k: "if", c: parseExpression(value), body: [], line };
          break;
        case "choose":
          node = value.trim() ? { k: "choose", c: parseExpression(value), body: [], line } : { k: "choose", body: [], line };
          break;
        case "when":
          node = { k: "when", c: parseExpression(value), body: [], line };
          break;
        case "otherwise":
          node = { k: "otherwise", body: [], line };
          break;
        case "with":
          node = { k: "with", suite: compileSuite(value.replace(/;/g, "\n"), file, valueLine), body: [], line };
          break;
        default:
          throw new PyException("TemplateSyntaxError", `bad directive "${command}" (supported: for, if, choose, when, otherwise, with, python, end)`);
      }
    } catch (e) {
      if (e instanceof RenderError) throw e;
      throw new RenderError(file, line, (e as Error).message.startsWith("TemplateSyntaxError") ? (e as Error).message : `TemplateSyntaxError: ${(e as Error).message}`, e);
    }
    current().push(node);
    stack.push(node);
  }
  text(offset, src.length);
  const open = stack[stack.length - 1];
  if (open) throw new RenderError(file, open.line, `TemplateSyntaxError: {% ${open.k} %} is never closed with {% end %}`);
  return root;
}

/** The state of the innermost choose: its tested value, and whether a branch was taken. */
export interface ChooseState {
  value?: unknown;
  hasValue: boolean;
  matched: boolean;
}

/** Genshi's when: equal to the choose value (Python ==) when there is one, else truthy. */
export function whenMatches(choose: ChooseState, v: unknown): boolean {
  return choose.hasValue ? pyEq(v, choose.value) : truthy(v);
}

function render(nodes: GNode[], scope: Scope, out: string[], file: string, choose?: ChooseState): void {
  for (const n of nodes) {
    if (n.k === "text") {
      out.push(n.s);
      continue;
    }
    try {
      switch (n.k) {
        case "expr":
          flattenValue(evaluate(n.e, scope), (s) => out.push(s));
          break;
        case "python":
          try {
            execute(n.suite.body, scope);
          } catch (e) {
            throw new RenderError(file, suiteErrorLine(e, n.suite), describe(e), e);
          }
          break;
        case "for":
          for (const item of iterate(evaluate(n.it, scope))) {
            const frame = new Frame(scope); // one frame per iteration, as Genshi's ForDirective
            bindTargets(frame, n.targets, item);
            render(n.body, frame, out, file, choose);
          }
          break;
        case "if":
          if (truthy(evaluate(n.c, scope))) render(n.body, scope, out, file, choose);
          break;
        case "choose":
          render(n.body, scope, out, file, n.c ? { value: evaluate(n.c, scope), hasValue: true, matched: false } : { hasValue: false, matched: false });
          break;
        case "when":
          if (!choose) throw new PyException("TemplateRuntimeError", "{% when %} outside {% choose %}");
          if (!choose.matched && whenMatches(choose, evaluate(n.c, scope))) {
            choose.matched = true;
            render(n.body, scope, out, file);
          }
          break;
        case "otherwise":
          if (!choose) throw new PyException("TemplateRuntimeError", "{% otherwise %} outside {% choose %}");
          if (!choose.matched) {
            choose.matched = true;
            render(n.body, scope, out, file);
          }
          break;
        case "with": {
          const inner = new Frame(scope);
          try {
            execute(n.suite.body, inner);
          } catch (e) {
            throw new RenderError(file, suiteErrorLine(e, n.suite), describe(e), e);
          }
          render(n.body, inner, out, file);
          break;
        }
      }
    } catch (e) {
      if (e instanceof RenderError) throw e;
      throw new RenderError(file, n.line, describe(e), e);
    }
  }
}

export function compileGenshi(text: string, path: string): CompiledTemplate {
  const nodes = parseTemplate(text, path);
  return {
    path,
    render(vars) {
      const scope: Scope = new Frame(new Map(Object.entries(vars)));
      const out: string[] = [];
      render(nodes, scope, out, path);
      return out.join("");
    },
  };
}

