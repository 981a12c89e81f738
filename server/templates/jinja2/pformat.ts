// pprint.pformat(value) (width 80): dicts and sets in sorted order, containers that do not
// fit broken one item per line. Strings too long for a line (which pprint splits) are refused.
import { isMapping, isNone, mappingEntries, pyRepr, pySorted, PyException, PyTuple, strValue } from "../python/values.js";

function safeKey(v: unknown): unknown {
  return v;
}

function safeRepr(v: unknown): string {
  if (isNone(v) || strValue(v) !== undefined) return pyRepr(v);
  if (v instanceof PyTuple) return v.length === 1 ? `(${safeRepr(v[0])},)` : `(${v.map(safeRepr).join(", ")})`;
  if (Array.isArray(v)) return `[${v.map(safeRepr).join(", ")}]`;
  if (v instanceof Set) return v.size ? `{${pySorted([...v], safeKey).map(safeRepr).join(", ")}}` : "set()";
  if (isMapping(v)) return `{${pySorted(mappingEntries(v), ([k]) => k).map(([k, x]) => `${safeRepr(k)}: ${safeRepr(x)}`).join(", ")}}`;
  return pyRepr(v);
}

function format(v: unknown, indent: number, allowance: number): string {
  const rep = safeRepr(v);
  if (rep.length <= 80 - indent - allowance) return rep;
  const pad = ",\n" + " ".repeat(indent + 1);
  if (v instanceof PyTuple || Array.isArray(v)) {
    if (!v.length) return rep;
    const items = [...v];
    const body = items.map((x, i) => format(x, indent + 1, i === items.length - 1 ? allowance + 1 : 1)).join(pad);
    if (v instanceof PyTuple) return `(${body}${items.length === 1 ? "," : ""})`;
    return `[${body}]`;
  }
  if (v instanceof Set) {
    const items = pySorted([...v], safeKey);
    return `{${items.map((x, i) => format(x, indent + 1, i === items.length - 1 ? allowance + 1 : 1)).join(pad)}}`;
  }
  if (isMapping(v)) {
    const items = pySorted(mappingEntries(v), ([k]) => k);
    if (!items.length) return rep;
    return `{${items
      .map(([k, x], i) => {
        const kr = safeRepr(k);
        return `${kr}: ${format(x, indent + 1 + kr.length + 2, i === items.length - 1 ? allowance + 1 : 1)}`;
      })
      .join(pad)}}`;
  }
  if (strValue(v) !== undefined && rep.length > 80 - indent - allowance) {
    throw new PyException("NotImplementedError", "pprint of a string longer than a line is not supported");
  }
  return rep;
}

export function pformat(v: unknown): string {
  return format(v, 0, 0);
}
