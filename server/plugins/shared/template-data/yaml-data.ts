// YAML Properties as Bcfg2 1.4 reads them (PyYAML's yaml.load: YAML 1.1, so yes/no/on/off are
// booleans), turned into the Python values templates see: dicts, lists, str, int, float, bool, None.
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from "yaml";
import { VacfgError } from "../../../../protocol/errors.js";
import { pyStr } from "../../../templates/python/expr.js";
import { PyFloat } from "../../../templates/python/expr-values.js";

/** A number written with a fraction, an exponent, or as .inf/.nan is a Python float. */
function floatSource(src: unknown, v: number): boolean {
  return typeof src === "string" ? /[.eE]|inf|nan/i.test(src) : !Number.isInteger(v);
}

function convert(node: unknown, doc: Document): unknown {
  if (isAlias(node)) return convert(node.resolve(doc), doc);
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) out[pyStr(convert(pair.key, doc))] = convert(pair.value, doc);
    return out;
  }
  if (isSeq(node)) return node.items.map((i) => convert(i, doc));
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === "number") return floatSource(node.source, v) ? new PyFloat(v) : v;
    // PyYAML gives a datetime.date, whose str() is the ISO date
    if (v instanceof Date) return node.source !== undefined && /^\d{4}-\d\d-\d\d$/.test(String(node.source)) ? String(node.source) : v.toISOString();
    return v ?? null;
  }
  return null;
}

export function parseYamlProperty(text: string, path: string): unknown {
  const doc = parseDocument(text, { version: "1.1", uniqueKeys: false, prettyErrors: false });
  const err = doc.errors[0];
  if (err) throw new VacfgError("REPO_FILE", `Could not load YAML data from ${path}:${err.linePos?.[0]?.line ?? 1}: ${err.message}`);
  return convert(doc.contents as YamlNode | null, doc);
}
