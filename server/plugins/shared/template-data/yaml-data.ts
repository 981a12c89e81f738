// YAML Properties as Bcfg2 1.4 reads them (PyYAML's yaml.load: YAML 1.1, so yes/no/on/off are
// booleans), turned into the Python values templates see: dicts, lists, str, int, float, bool, None.
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from "yaml";
import { VacfgError } from "../../../../protocol/errors.js";
import { PyFloat, pyStr } from "../../../templates/python/values.js";

// PyYAML's YAML 1.1 resolvers (a float needs a dot, an exponent needs a sign); what the yaml
// package reads as a number but these do not match stays a str, as in PyYAML.
const PY_INT = /^(?:[-+]?0b[01_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const PY_FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

function number(src: unknown, v: number): unknown {
  if (typeof src !== "string") return v;
  if (PY_FLOAT.test(src)) return new PyFloat(v);
  if (PY_INT.test(src)) return v;
  return src;
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
    if (typeof v === "number") return node.type === "PLAIN" ? number(node.source, v) : v;
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
