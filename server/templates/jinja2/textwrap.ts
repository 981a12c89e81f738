// Python's textwrap.wrap as Jinja's wordwrap filter calls it (expand_tabs and
// replace_whitespace off, drop_whitespace on), with its word-splitting regular expression.
import { PyException } from "../python/values.js";

const WS = "[\\t\\n\\x0b\\x0c\\r ]";
const NWS = "[^\\t\\n\\x0b\\x0c\\r ]";
const WP = "[\\p{L}\\p{N}_!\"'&.,?]";
const LT = "[\\p{L}_]";
const WORDSEP = new RegExp(
  `(${WS}+|(?<=${WP})-{2,}(?=[\\p{L}\\p{N}_])|${NWS}+?(?:-(?:(?<=${LT}{2}-)|(?<=${LT}-${LT}-))(?=${LT}-?${LT})|(?=${WS}|$)|(?<=${WP})(?=-{2,}[\\p{L}\\p{N}_])))`,
  "u",
);
const WORDSEP_SIMPLE = new RegExp(`(${WS}+)`);

function isBlank(s: string): boolean {
  return /^[\s\x1c-\x1f\x85]*$/u.test(s);
}

export function textwrap(text: string, width: number, breakLongWords: boolean, breakOnHyphens: boolean): string[] {
  if (width <= 0) throw new PyException("ValueError", `invalid width ${width} (must be > 0)`);
  const chunks = text.split(breakOnHyphens ? WORDSEP : WORDSEP_SIMPLE).filter((c) => c !== "" && c !== undefined);
  chunks.reverse();
  const lines: string[] = [];
  const len = (s: string) => [...s].length;
  while (chunks.length) {
    const cur: string[] = [];
    let curLen = 0;
    if (isBlank(chunks[chunks.length - 1]!) && lines.length) chunks.pop();
    while (chunks.length) {
      const l = len(chunks[chunks.length - 1]!);
      if (curLen + l <= width) {
        cur.push(chunks.pop()!);
        curLen += l;
      } else break;
    }
    if (chunks.length && len(chunks[chunks.length - 1]!) > width) {
      const spaceLeft = width < 1 ? 1 : width - curLen;
      if (breakLongWords) {
        let end = spaceLeft;
        const chunk = [...chunks[chunks.length - 1]!];
        if (breakOnHyphens && chunk.length > spaceLeft) {
          const hyphen = chunk.slice(0, spaceLeft).lastIndexOf("-");
          if (hyphen > 0 && chunk.slice(0, hyphen).some((c) => c !== "-")) end = hyphen + 1;
        }
        cur.push(chunk.slice(0, end).join(""));
        chunks[chunks.length - 1] = chunk.slice(end).join("");
      } else if (!cur.length) cur.push(chunks.pop()!);
      curLen = cur.reduce((n, c) => n + len(c), 0);
    }
    if (cur.length && isBlank(cur[cur.length - 1]!)) cur.pop();
    if (cur.length) lines.push(cur.join(""));
  }
  return lines;
}
