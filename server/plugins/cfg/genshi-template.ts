// .genshi Cfg files: Genshi NewTextTemplate syntax (${expr}, $name, {% for %}, {% if %},
// {% choose/when/otherwise %}, {% with %}, {% python %}, {% end %}, {# #}, backslash escapes)
// with expressions in the safe Python subset of python-expr.ts.
import { VacfgError } from "../../../protocol/errors.js";
import type { CompiledTemplate } from "./jinja2-template.js";
import { bindTargets, evaluate, execute, parseExpression, parseForHead, parseSuite, pyStr, PyError, truthy, type Node, type Scope, type Stmt } from "./python-expr.js";

type GNode =
  | { k: "text"; s: string }
  | { k: "expr"; e: Node; line: number }
  | { k: "python"; body: Stmt[]; line: number }
  | { k: "for"; targets: string[]; it: Node; body: GNode[]; line: number }
  | { k: "if"; c: Node; body: GNode[]; line: number }
  | { k: "choose"; c?: Node; body: GNode[]; line: number }
  | { k: "when"; c: Node; body: GNode[]; line: number }
  | { k: "otherwise"; body: GNode[]; line: number }
  | { k: "with"; assigns: Stmt[]; body: GNode[]; line: number };

const DIRECTIVE_RE = /((?<!\\)\{%\s*(\w+)\s*([\s\S]*?)\s*%\}|(?<!\\)\{#[\s\S]*?#\})/g;
const ESCAPE_RE = /\\\n|\\\r\n|\\(\\)|\\(\{%)|\\(\{#)/g;

class TemplateSyntax extends Error {
  constructor(message: string, readonly line: number) {
    super(message);
  }
}

function lineAt(src: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset; i++) if (src.charCodeAt(i) === 10) n++;
  return n;
}

/** Genshi's Suite source handling: strip, keep the first line, dedent the rest. */
function dedentCode(code: string): string {
  const lines = code.trim().split(/\r?\n/).map((l) => l.replace(/\t/g, "        "));
  const rest = lines.slice(1);
  const indents = rest.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return [lines[0] ?? "", ...rest.map((l) => l.slice(cut))].join("\n");
}

/** Text with ${expr} / $name.attr interpolation; $$ is a literal $. */
function interpolate(text: string, src: string, base: number, out: GNode[]): void {
  let buf = "";
  let i = 0;
  const flush = () => {
    if (buf) out.push({ k: "text", s: buf });
    buf = "";
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c !== "$") {
      buf += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === "$") {
      buf += "$";
      i += 2;
      continue;
    }
    const line = lineAt(src, base + i);
    if (next === "{") {
      let j = i + 2;
      let depth = 1;
      let quote: string | undefined;
      for (; j < text.length; j++) {
        const ch = text[j]!;
        if (quote) {
          if (ch === "\\") j++;
          else if (ch === quote) quote = undefined;
        } else if (ch === "'" || ch === '"') quote = ch;
        else if (ch === "{") depth++;
        else if (ch === "}" && --depth === 0) break;
      }
      if (depth !== 0) throw new TemplateSyntax("unterminated ${ expression", line);
      flush();
      out.push({ k: "expr", e: compileExpr(text.slice(i + 2, j), line), line });
      i = j + 1;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(text.slice(i + 1));
    if (m) {
      flush();
      out.push({ k: "expr", e: compileExpr(m[0], line), line });
      i += 1 + m[0].length;
      continue;
    }
    buf += "$";
    i++;
  }
  flush();
}

function compileExpr(src: string, line: number): Node {
  try {
    return parseExpression(src);
  } catch (e) {
    throw new TemplateSyntax((e as Error).message, line);
  }
}

function parseTemplate(src: string): GNode[] {
  const root: GNode[] = [];
  const stack: Array<{ node: GNode & { body: GNode[] }; line: number }> = [];
  const current = () => (stack.length ? stack[stack.length - 1]!.node.body : root);
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
      else interpolate(s, src, at, current());
    }
  };
  for (const m of src.matchAll(DIRECTIVE_RE)) {
    const start = m.index!;
    text(offset, start);
    offset = start + m[0].length;
    if (!m[2]) continue; // {# comment #}
    const command = m[2];
    const value = m[3] ?? "";
    const line = lineAt(src, start);
    try {
      if (command === "end") {
        if (!stack.pop()) throw new TemplateSyntax("{% end %} without an open directive", line);
        continue;
      }
      if (command === "python") {
        current().push({ k: "python", body: parseSuite(dedentCode(value)), line });
        continue;
      }
      let node: GNode & { body: GNode[] };
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
          node = { k: "with", assigns: parseSuite(value.replace(/;/g, "\n")), body: [], line };
          break;
        default:
          throw new TemplateSyntax(`bad directive "${command}" (supported: for, if, choose, when, otherwise, with, python, end)`, line);
      }
      current().push(node);
      stack.push({ node, line });
    } catch (e) {
      if (e instanceof TemplateSyntax) throw e;
      throw new TemplateSyntax((e as Error).message, line);
    }
  }
  text(offset, src.length);
  if (stack.length) throw new TemplateSyntax(`{% ${stack[stack.length - 1]!.node.k} %} is never closed with {% end %}`, stack[stack.length - 1]!.line);
  return root;
}

class RenderError extends Error {
  constructor(message: string, readonly line: number) {
    super(message);
  }
}

function render(nodes: GNode[], scope: Scope, out: string[], choose?: { value?: unknown; hasValue: boolean; matched: boolean }): void {
  for (const n of nodes) {
    if (n.k === "text") {
      out.push(n.s);
      continue;
    }
    try {
      switch (n.k) {
        case "expr": {
          const v = evaluate(n.e, scope);
          // Genshi prints nothing for None and flattens an iterable into its items' text.
          if (v === null || v === undefined) break;
          if (Array.isArray(v)) for (const item of v) out.push(pyStr(item));
          else if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) out.push(...Object.keys(v));
          else out.push(pyStr(v));
          break;
        }
        case "python":
          execute(n.body, scope);
          break;
        case "for": {
          const seq = evaluate(n.it, scope);
          const items = evaluate({ k: "call", f: { k: "name", n: "list" }, args: [{ k: "const", v: seq }], kw: [] }, scope) as unknown[];
          for (const item of items) {
            bindTargets(scope, n.targets, item); // Genshi's for leaks its variable like Python's
            render(n.body, scope, out);
          }
          break;
        }
        case "if":
          if (truthy(evaluate(n.c, scope))) render(n.body, scope, out);
          break;
        case "choose": {
          const state = n.c ? { value: evaluate(n.c, scope), hasValue: true, matched: false } : { hasValue: false, matched: false };
          render(n.body, scope, out, state);
          break;
        }
        case "when": {
          if (!choose) throw new PyError("TemplateSyntaxError", "{% when %} outside {% choose %}");
          if (choose.matched) break;
          const v = evaluate(n.c, scope);
          const hit = choose.hasValue ? v === choose.value || pyStr(v) === pyStr(choose.value) : truthy(v);
          if (hit) {
            choose.matched = true;
            render(n.body, scope, out);
          }
          break;
        }
        case "otherwise":
          if (!choose) throw new PyError("TemplateSyntaxError", "{% otherwise %} outside {% choose %}");
          if (!choose.matched) {
            choose.matched = true;
            render(n.body, scope, out);
          }
          break;
        case "with": {
          const inner = new Map(scope);
          execute(n.assigns, inner);
          render(n.body, inner, out);
          break;
        }
      }
    } catch (e) {
      if (e instanceof RenderError) throw e;
      throw new RenderError((e as Error).message, n.line);
    }
  }
}

export function compileGenshi(text: string, path: string): CompiledTemplate {
  let nodes: GNode[];
  try {
    nodes = parseTemplate(text);
  } catch (e) {
    const line = e instanceof TemplateSyntax ? e.line : 1;
    throw new VacfgError("REPO_TEMPLATE", `${path}:${line}: TemplateSyntaxError: ${(e as Error).message}`, { cause: e });
  }
  return {
    path,
    render(vars) {
      const scope: Scope = new Map(Object.entries(vars));
      const out: string[] = [];
      try {
        render(nodes, scope, out);
      } catch (e) {
        const line = e instanceof RenderError ? e.line : 1;
        throw new VacfgError("REPO_TEMPLATE", `${path}:${line}: ${(e as Error).message}`, { cause: e });
      }
      return out.join("");
    },
  };
}
