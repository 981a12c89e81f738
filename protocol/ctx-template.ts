// The contextualization template an appliance ships: which parameters it needs, their shape,
// where each is bound (site or instance), and which generator makes instance values.
import { ProtocolError } from "./errors.js";
import { isValidParamName } from "./params.js";
import { parseXml, type XmlElement } from "./xml.js";

export type ParamShape = "value" | "list" | "named-list";
export type ParamBinding = "site" | "instance";
export type GeneratorName = "address-pool" | "nodenames" | "node-name" | "host-certificate" | "ssh-host-key" | "ssh-known-hosts" | "random-password" | "shared-secret";

export interface TemplateParam {
  name: string;
  shape: ParamShape;
  binding: ParamBinding;
  required: boolean;
  secret: boolean;
  generator?: GeneratorName;
  /** address-pool: which site pool. */
  pool?: string;
  /** Used when nothing else binds the parameter (value shape only). */
  default?: string;
  line?: number;
}

export interface ContextTemplate {
  appliance: string;
  params: TemplateParam[];
  source: string;
}

export const SHAPES: readonly ParamShape[] = ["value", "list", "named-list"];
export const BINDINGS: readonly ParamBinding[] = ["site", "instance"];

/** Which shapes each generator can produce (see hypervisor/ctx/generators.ts for what each means). */
export const GENERATOR_SHAPES: Record<GeneratorName, readonly ParamShape[]> = {
  "address-pool": ["value", "list", "named-list"],
  nodenames: ["list"],
  "node-name": ["value"],
  "host-certificate": ["value", "named-list"],
  "ssh-host-key": ["value", "named-list"],
  "ssh-known-hosts": ["named-list"],
  "random-password": ["value"],
  "shared-secret": ["value"],
};

const PARAM_ATTRS = new Set(["name", "shape", "binding", "required", "secret", "generator", "pool", "default"]);

function fail(source: string, line: number | undefined, msg: string): never {
  throw new ProtocolError("CTX_TEMPLATE", `${source}:${line ?? "?"}: ${msg}`);
}

function bool(source: string, e: XmlElement, attr: string, where: string): boolean {
  const v = e.attrs[attr];
  if (v === undefined || v === "false") return false;
  if (v === "true") return true;
  return fail(source, e.line, `${where}: ${attr}="${v}" must be true or false`);
}

/** Parses a template; errors (CTX_TEMPLATE) name source:line and the Param. */
export function parseContextTemplate(xml: string, source = "context template"): ContextTemplate {
  let root: XmlElement;
  try {
    root = parseXml(xml, { source, maxBytes: 1024 * 1024 });
  } catch (err) {
    throw new ProtocolError("CTX_TEMPLATE", (err as Error).message, { cause: err });
  }
  if (root.tag !== "ContextTemplate") fail(source, root.line, `root element is <${root.tag}>, expected <ContextTemplate>`);
  const appliance = root.attrs.appliance;
  if (!appliance) fail(source, root.line, "<ContextTemplate> needs an appliance attribute");
  const params: TemplateParam[] = [];
  const seen = new Set<string>();
  for (const p of root.children) {
    if (p.tag !== "Param") fail(source, p.line, `unexpected <${p.tag}> in <ContextTemplate>`);
    const name = p.attrs.name;
    if (name === undefined) fail(source, p.line, "<Param> without a name attribute");
    const where = `Param "${name}"`;
    if (!isValidParamName(name)) fail(source, p.line, `${where}: invalid name`);
    if (seen.has(name)) fail(source, p.line, `${where}: declared twice`);
    seen.add(name);
    for (const a of Object.keys(p.attrs)) if (!PARAM_ATTRS.has(a)) fail(source, p.line, `${where}: unknown attribute ${a}`);
    const shape = (p.attrs.shape ?? "value") as ParamShape;
    if (!SHAPES.includes(shape)) fail(source, p.line, `${where}: shape="${shape}" must be one of ${SHAPES.join(", ")}`);
    const binding = p.attrs.binding as ParamBinding | undefined;
    if (binding === undefined) fail(source, p.line, `${where}: binding= (site or instance) is required`);
    if (!BINDINGS.includes(binding)) fail(source, p.line, `${where}: binding="${binding}" must be site or instance`);
    const tp: TemplateParam = {
      name,
      shape,
      binding,
      required: bool(source, p, "required", where),
      secret: bool(source, p, "secret", where),
      line: p.line,
    };
    const gen = p.attrs.generator as GeneratorName | undefined;
    if (gen !== undefined) {
      const shapes = GENERATOR_SHAPES[gen];
      if (!shapes) fail(source, p.line, `${where}: unknown generator "${gen}" (known: ${Object.keys(GENERATOR_SHAPES).join(", ")})`);
      if (binding !== "instance") fail(source, p.line, `${where}: generator needs binding="instance"`);
      if (!shapes.includes(shape)) fail(source, p.line, `${where}: generator ${gen} cannot produce shape ${shape} (only ${shapes.join(", ")})`);
      tp.generator = gen;
    }
    if (p.attrs.pool !== undefined) {
      if (gen !== "address-pool") fail(source, p.line, `${where}: pool= only applies to generator="address-pool"`);
      tp.pool = p.attrs.pool;
    } else if (gen === "address-pool") fail(source, p.line, `${where}: generator address-pool needs pool=`);
    if (p.attrs.default !== undefined) {
      if (shape !== "value") fail(source, p.line, `${where}: default= only applies to shape="value"`);
      tp.default = p.attrs.default;
    }
    params.push(tp);
  }
  return { appliance, params, source };
}

/** Names of parameters the template marks secret (delivery must not expose them). */
export function secretParamNames(t: ContextTemplate): string[] {
  return t.params.filter((p) => p.secret).map((p) => p.name);
}
