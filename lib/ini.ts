// A small INI reader in the dialect of Python's ConfigParser as bcfg2.conf uses it (the server's
// vacfg.conf and the agent's /etc/vacfg.conf):
// [section], "key = value" or "key: value", # and ; comments, indented continuation lines.
// Every value remembers its line, so configuration errors can name it.
import { VacfgError, type ErrorCode } from "../protocol/errors.js";

export interface IniValue {
  value: string;
  line: number;
}

export type IniFile = Map<string, Map<string, IniValue>>;

/** Throws `code` (the caller's catalogue code) naming source:line for a line that is neither. */
export function parseIni(text: string, source: string, code: ErrorCode = "SERVER_CONFIG"): IniFile {
  const out: IniFile = new Map();
  let section: Map<string, IniValue> | undefined;
  let last: IniValue | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (/^\s*([#;]|$)/.test(raw)) {
      if (raw.trim() === "") last = undefined;
      return;
    }
    if (/^\s/.test(raw) && last) {
      last.value += "\n" + raw.trim();
      return;
    }
    const head = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (head) {
      const name = head[1].trim();
      section = out.get(name) ?? new Map();
      out.set(name, section);
      last = undefined;
      return;
    }
    const kv = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(raw);
    if (!kv) throw new VacfgError(code, `${source}:${line}: expected "[section]" or "key = value", found "${raw.trim()}"`);
    if (!section) throw new VacfgError(code, `${source}:${line}: "${kv[1]}" appears before any [section]`);
    last = { value: kv[2].trim(), line };
    section.set(kv[1].toLowerCase(), last);
  });
  return out;
}

/** Renders sections in order; values are written as given (no multi-line values). */
export function renderIni(sections: Array<[string, Array<[string, string]>]>, header = ""): string {
  const parts: string[] = header ? [header.trimEnd(), ""] : [];
  for (const [name, entries] of sections) {
    parts.push(`[${name}]`);
    for (const [k, v] of entries) parts.push(`${k} = ${v}`);
    parts.push("");
  }
  return parts.join("\n");
}
