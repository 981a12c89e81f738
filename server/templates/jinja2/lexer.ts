// Jinja2's lexer with Bcfg2's environment settings: default delimiters, trim_blocks and
// lstrip_blocks off, keep_trailing_newline on, newlines in data normalized to "\n",
// `-` whitespace control, `{% raw %}`, brace balancing inside tags.
import { TemplateSyntaxError } from "./errors.js";

type TokenType =
  | "data" | "variable_begin" | "variable_end" | "block_begin" | "block_end"
  | "name" | "string" | "integer" | "float" | "operator" | "eof";

export interface Token {
  type: TokenType;
  value: string;
  /** Parsed value of string/integer/float tokens. */
  parsed?: unknown;
  line: number;
}

const OPERATORS = ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];
const FLOAT = /^(?:\d+_)*\d+(?:(?:\.(?:\d+_)*\d+)?e[+-]?(?:\d+_)*\d+|\.(?:\d+_)*\d+)/i;
const INTEGER = /^(?:0b(?:_?[01])+|0o(?:_?[0-7])+|0x(?:_?[\da-f])+|[1-9](?:_?\d)*|0(?:_?0)*)/i;
const NAME = /^[\p{L}_][\p{L}\p{N}_]*/u;
const STRING = /^(?:'([^'\\]*(?:\\.[^'\\]*)*)'|"([^"\\]*(?:\\.[^"\\]*)*)")/s;

/** Python's "unicode-escape" decoding of a literal's body, as Jinja applies it. */
function unescapeString(body: string): string {
  return body.replace(/\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{1,3})|N\{([^}]*)\}|([\s\S]))/g,
    (whole, x?: string, u?: string, U?: string, oct?: string, named?: string, c?: string) => {
      const hex = x ?? u ?? U;
      if (hex) return String.fromCodePoint(Number.parseInt(hex, 16));
      if (oct) return String.fromCodePoint(Number.parseInt(oct, 8));
      if (named !== undefined) throw new Error(`\\N{${named}} escapes are not supported`);
      switch (c) {
        case "n": return "\n";
        case "t": return "\t";
        case "r": return "\r";
        case "a": return "\x07";
        case "b": return "\b";
        case "f": return "\f";
        case "v": return "\v";
        case "\n": return "";
        case "\\": case "'": case '"': return c;
        default: return whole;
      }
    });
}

function normalizeNewlines(s: string): string {
  return s.replace(/\r\n|\r/g, "\n");
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

export function tokenize(source: string, name: string): Token[] {
  const src = normalizeNewlines(source);
  const out: Token[] = [];
  let pos = 0;
  let line = 1;
  let stripNext = false;
  const pushData = (text: string, stripEnd: boolean) => {
    let t = text;
    if (stripNext) t = t.replace(/^\s+/, "");
    if (stripEnd) t = t.replace(/\s+$/, "");
    stripNext = false;
    if (t) out.push({ type: "data", value: t, line });
  };
  const fail = (msg: string, at = line): never => {
    throw new TemplateSyntaxError(msg, name, at);
  };
  while (pos < src.length) {
    const m = /\{([{%#])/.exec(src.slice(pos));
    if (!m) {
      pushData(src.slice(pos), false);
      break;
    }
    const start = pos + m.index;
    const kind = m[1]!;
    const afterOpen = start + 2;
    const stripBefore = src[afterOpen] === "-";
    // raw blocks: {% raw %}...{% endraw %}
    if (kind === "%") {
      const raw = /^\{%[-+]?\s*raw\s*([-+]?)%\}/.exec(src.slice(start));
      if (raw) {
        pushData(src.slice(pos, start), stripBefore);
        line += countLines(src.slice(pos, start));
        const bodyStart = start + raw[0].length;
        const end = /\{%([-+]?)\s*endraw\s*([-+]?)%\}/.exec(src.slice(bodyStart));
        if (!end) fail("Missing end of raw directive");
        let body = src.slice(bodyStart, bodyStart + end!.index);
        if (raw[1] === "-") body = body.replace(/^\s+/, "");
        if (end![1] === "-") body = body.replace(/\s+$/, "");
        if (body) out.push({ type: "data", value: body, line });
        line += countLines(src.slice(start, bodyStart + end!.index + end![0].length));
        pos = bodyStart + end!.index + end![0].length;
        stripNext = end![2] === "-";
        continue;
      }
    }
    pushData(src.slice(pos, start), stripBefore);
    line += countLines(src.slice(pos, start));
    let i = afterOpen + (src[afterOpen] === "-" || src[afterOpen] === "+" ? 1 : 0);
    if (kind === "#") {
      const end = /(-?)#\}/.exec(src.slice(i));
      if (!end) fail("Missing end of comment tag");
      line += countLines(src.slice(start, i + end!.index + end![0].length));
      pos = i + end!.index + end![0].length;
      stripNext = end![1] === "-";
      continue;
    }
    const tagLine = line;
    out.push({ type: kind === "{" ? "variable_begin" : "block_begin", value: "", line });
    const close = kind === "{" ? "}}" : "%}";
    const balance: string[] = [];
    for (;;) {
      const ws = /^\s+/.exec(src.slice(i));
      if (ws) {
        line += countLines(ws[0]);
        i += ws[0].length;
      }
      if (i >= src.length) fail(`unexpected end of template, expected end of ${kind === "{" ? "print statement" : "block statement"}`, tagLine);
      if (!balance.length) {
        if (src.startsWith(`-${close}`, i) || src.startsWith(close, i) || (kind === "%" && src.startsWith(`+${close}`, i))) {
          const strip = src[i] === "-";
          i += src[i] === "-" || src[i] === "+" ? 3 : 2;
          out.push({ type: kind === "{" ? "variable_end" : "block_end", value: "", line });
          stripNext = strip;
          break;
        }
      }
      const rest = src.slice(i, i + 512);
      let tm: RegExpExecArray | null;
      if ((tm = FLOAT.exec(rest)) && !(out.length && out[out.length - 1]!.value === "." && out[out.length - 1]!.type === "operator")) {
        out.push({ type: "float", value: tm[0], parsed: Number(tm[0].replace(/_/g, "")), line });
        i += tm[0].length;
      } else if ((tm = INTEGER.exec(rest))) {
        const t = tm[0].replace(/_/g, "").toLowerCase();
        const parsed = t.startsWith("0b") ? Number.parseInt(t.slice(2), 2) : t.startsWith("0o") ? Number.parseInt(t.slice(2), 8) : t.startsWith("0x") ? Number.parseInt(t.slice(2), 16) : Number(t);
        out.push({ type: "integer", value: tm[0], parsed, line });
        i += tm[0].length;
      } else if ((tm = NAME.exec(rest))) {
        out.push({ type: "name", value: tm[0], line });
        i += tm[0].length;
      } else if ((tm = STRING.exec(src.slice(i)))) {
        let parsed: string;
        try {
          parsed = unescapeString(tm[1] ?? tm[2] ?? "");
        } catch (e) {
          return fail((e as Error).message);
        }
        out.push({ type: "string", value: tm[0], parsed, line });
        line += countLines(tm[0]);
        i += tm[0].length;
      } else {
        const op = OPERATORS.find((o) => src.startsWith(o, i));
        if (!op) fail(`unexpected char ${JSON.stringify(src[i])} at ${i}`);
        if (op === "(" || op === "[" || op === "{") balance.push(op === "(" ? ")" : op === "[" ? "]" : "}");
        else if (op === ")" || op === "]" || op === "}") {
          if (!balance.length) fail(`unexpected '${op}'`);
          const want = balance.pop();
          if (want !== op) fail(`unexpected '${op}', expected '${want}'`);
        }
        out.push({ type: "operator", value: op!, line });
        i += op!.length;
      }
    }
    pos = i;
  }
  out.push({ type: "eof", value: "", line });
  return out;
}
