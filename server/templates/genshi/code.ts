// Template code as Genshi compiles it: ${…}/$name interpolation in text and attributes, Python
// suites ({% python %}, <?python ?>) with Genshi's dedent, and what an expression's value prints as.
import { parseExpression, type Node } from "../python/expr.js";
import { parseSuite, SuiteError, type Stmt } from "../python/statements.js";
import { RenderError } from "./render-error.js";
import { iterate, primitive, PyException, pyStr } from "../python/values.js";

/** Text, or an expression with the line it starts on. */
export type Part = string | { expr: Node; line: number };

/** Line numbers by offset in one source. */
export function lineCounter(src: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < src.length; i++) if (src.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

export function compileExpr(src: string, file: string, line: number): Node {
  try {
    return parseExpression(src);
  } catch (e) {
    throw new RenderError(file, line, `TemplateSyntaxError: ${(e as Error).message}`, e);
  }
}

/** Genshi's Suite source handling: strip, keep the first line, dedent the rest. */
function dedentCode(code: string): string {
  const lines = code.trim().split(/\r?\n/).map((l) => l.replace(/\t/g, "        "));
  const rest = lines.slice(1);
  const indents = rest.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return [lines[0] ?? "", ...rest.map((l) => l.slice(cut))].join("\n");
}

/** A compiled suite; `line` is the template line of the code's first non-blank line. */
export interface Suite {
  body: Stmt[];
  line: number;
}

export function compileSuite(code: string, file: string, line: number): Suite {
  const lead = /^\s*/.exec(code)![0].split("\n").length - 1;
  const start = line + lead;
  try {
    return { body: parseSuite(dedentCode(code)), line: start };
  } catch (e) {
    if (e instanceof SuiteError) throw new RenderError(file, start + e.line - 1, `TemplateSyntaxError: ${e.message}`, e);
    throw new RenderError(file, start, `TemplateSyntaxError: ${(e as Error).message}`, e);
  }
}

/** The template line of an error raised while running a suite. */
export function suiteErrorLine(e: unknown, suite: Suite): number {
  return e instanceof SuiteError ? suite.line + e.line - 1 : suite.line;
}

/** ${expr} / $name.attr interpolation; $$ is a literal $. */
export function interpolate(text: string, file: string, lineOf: (offset: number) => number, base = 0): Part[] {
  const out: Part[] = [];
  let buf = "";
  let i = 0;
  const flush = () => {
    if (buf) out.push(buf);
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
    const line = lineOf(base + i);
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
      if (depth !== 0) throw new RenderError(file, line, "TemplateSyntaxError: unterminated ${ expression");
      flush();
      out.push({ expr: compileExpr(text.slice(i + 2, j), file, line), line });
      i = j + 1;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(text.slice(i + 1));
    if (m) {
      flush();
      out.push({ expr: compileExpr(m[0], file, line), line });
      i += 1 + m[0].length;
      continue;
    }
    buf += "$";
    i++;
  }
  flush();
  return out;
}

/**
 * What Genshi emits for an expression's value: nothing for None, the text of a str or number,
 * str() of each item of any other iterable (a list, a dict's keys: Genshi's _ensure), else str(value).
 * `onItem` lets the markup engine take markup fragments (py:def results) itself.
 */
export function flattenValue(v: unknown, out: (text: string) => void, onItem?: (item: unknown) => boolean): void {
  if (v === null || v === undefined) return;
  if (onItem?.(v)) return;
  const x = primitive(v);
  if (typeof x !== "object" || x === null) return out(pyStr(v));
  let items: unknown[];
  try {
    items = iterate(v);
  } catch (e) {
    if (!(e instanceof PyException)) throw e;
    return out(pyStr(v));
  }
  for (const item of items) if (!onItem?.(item)) out(pyStr(item));
}
