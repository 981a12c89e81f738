// `vacfg ctx check`: a parameter file (and optionally the appliance's context template) checked with
// the same parsers the agent, the server and assembly use, then the file against the template:
// every problem found is reported as "file:line: Param "NAME": why", not only the first.
import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseContextTemplate, type ContextTemplate, type TemplateParam } from "../../protocol/ctx-template.js";
import { isVacfgError } from "../../protocol/errors.js";
import { parseEd25519Key } from "../../protocol/ed25519-key.js";
import { parametersRefusal } from "../../protocol/params-signature.js";
import { parseSignedParameterFile, type ParamValue, type SignedParameters } from "../../protocol/params.js";
import { parseXml } from "../../protocol/xml.js";

export interface CtxCheckOptions {
  /** The parameter file (XML, Figure 1 format). */
  file: string;
  /** The appliance's context template (XML); the file is then checked against it. */
  template?: string;
  /** Site parameter-signing public key(s) (PEM): the file must be signed with one of them. */
  publicKeys?: string[];
}

export interface CtxCheckResult {
  /** "file:line: message" per problem; empty when everything is valid. */
  problems: string[];
  params?: SignedParameters;
  template?: ContextTemplate;
}

function read(path: string, problems: string[]): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    problems.push(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return undefined;
  }
}

/** The parser's catalogue errors become problems; anything else is a bug and is thrown. */
function parsed<T>(parse: () => T, problems: string[]): T | undefined {
  try {
    return parse();
  } catch (e) {
    if (!isVacfgError(e)) throw e;
    problems.push(e.message);
    return undefined;
  }
}

/** Line of each <Param name=> in the file (the parsed map keeps values, not lines). */
function paramLines(xml: string, source: string): Map<string, number | undefined> {
  const root = parseXml(xml, { source });
  return new Map(root.children.filter((c) => c.tag === "Param" && c.attrs.name !== undefined).map((c) => [c.attrs.name, c.line]));
}

function shapeOf(v: ParamValue): string {
  if (v.kind === "value") return "value";
  if (v.items.length === 0) return "empty list";
  const named = v.items.filter((i) => i.name !== undefined).length;
  return named === v.items.length ? "named-list" : named === 0 ? "list" : "list with some items named";
}

function shapeProblem(p: TemplateParam, v: ParamValue): string | undefined {
  const got = shapeOf(v);
  if (p.shape === "value") return v.kind === "value" ? undefined : `is a ${got}, the template wants a value (value="...")`;
  if (v.kind === "value") return `is a value, the template wants a ${p.shape} (<List><Item .../></List>)`;
  if (got === "empty list") return undefined;
  if (p.shape === "list" && got !== "list") return `is a ${got}, the template wants a list of unnamed <Item value=>`;
  if (p.shape === "named-list" && got !== "named-list") return `is a ${got}, the template wants every <Item> to have name=`;
  return undefined;
}

/** Checks the file against the template: unknown, missing required and mis-shaped parameters. */
function againstTemplate(file: string, xml: string, sp: SignedParameters, t: ContextTemplate, problems: string[]): void {
  const lines = paramLines(xml, file);
  const declared = new Map(t.params.map((p) => [p.name, p]));
  for (const [name, v] of sp.params) {
    const at = `${file}:${lines.get(name) ?? "?"}: Param "${name}"`;
    const p = declared.get(name);
    if (!p) {
      problems.push(`${at}: not declared in ${t.source} (appliance ${t.appliance})`);
      continue;
    }
    const why = shapeProblem(p, v);
    if (why) problems.push(`${at}: ${why} (${t.source}:${p.line ?? "?"})`);
  }
  for (const p of t.params) {
    if (p.required && !sp.params.has(p.name)) problems.push(`${file}: Param "${p.name}": missing, ${t.source}:${p.line ?? "?"} declares it required="true"`);
  }
}

export function checkContext(o: CtxCheckOptions): CtxCheckResult {
  const problems: string[] = [];
  const out: CtxCheckResult = { problems };
  if (o.template !== undefined) {
    const text = read(o.template, problems);
    if (text !== undefined) out.template = parsed(() => parseContextTemplate(text, o.template), problems);
  }
  const xml = read(o.file, problems);
  if (xml !== undefined) out.params = parsed(() => parseSignedParameterFile(xml, o.file), problems);
  if (xml !== undefined && out.params && out.template) againstTemplate(o.file, xml, out.params, out.template, problems);
  if (out.params && o.publicKeys?.length) {
    const keys: KeyObject[] = [];
    for (const k of o.publicKeys) {
      const pem = read(k, problems);
      const key = pem === undefined ? undefined : parsed(() => parseEd25519Key(pem, "public", k), problems);
      if (key) keys.push(key);
    }
    if (keys.length) {
      const node = out.params.signature?.node;
      const refusal = parametersRefusal(out.params, node ? [node] : [], keys);
      if (refusal) problems.push(`${o.file}: signature: ${refusal}`);
    }
  }
  return out;
}
