// Renders the same template files with Python's Jinja2 (as Bcfg2 configures it) and with
// vacfg's engine, from the same variables, for byte-for-byte comparison.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { TemplateError } from "../../../server/templates/engine.js";
import { Jinja2Engine } from "../../../server/templates/jinja2/index.js";
import { PyFloat, tuple } from "../../../server/templates/python/values.js";
import { RepoTemplateLoader } from "../../../server/plugins/cfg/jinja2-template.js";
import { projectRoot } from "../../support/paths.js";

export type Rendered = { out: string } | { error: string };

/** A str subclass with .json and .data (Bcfg2's ProbeData), for the engine side. */
export class ProbeLike {
  constructor(readonly text: string) {}
  valueOf(): string {
    return this.text;
  }
  get data(): string {
    return this.text;
  }
  get json(): unknown {
    try {
      return fromTagged(JSON.parse(this.text));
    } catch {
      return null;
    }
  }
}

/** An object with attributes (what templates see of Bcfg2's ClientMetadata). */
export class Obj {
  constructor(attrs: Record<string, unknown>) {
    Object.assign(this, attrs);
    const categories = attrs.categories;
    if (categories instanceof Map) Object.assign(this, { group_in_category: (c: string) => categories.get(c) ?? "" });
  }
}

/** A template of a test repository and the Cfg entry it renders. */
export interface TemplateEntry {
  path: string;
  name: string;
}

/** The engine-side value of a tagged JSON value (see jinja2-reference.py). */
export function fromTagged(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromTagged);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if ("__probe__" in o) return new ProbeLike(String(o.__probe__));
    if ("__tuple__" in o) return tuple(...(o.__tuple__ as unknown[]).map(fromTagged));
    if ("__set__" in o) return new Set((o.__set__ as unknown[]).map(fromTagged));
    if ("__float__" in o) return new PyFloat(Number(o.__float__));
    if ("__object__" in o) return new Obj(Object.fromEntries(Object.entries(o.__object__ as object).map(([k, x]) => [k, fromTagged(x)])));
    return new Map(Object.entries(o).map(([k, x]) => [k, fromTagged(x)]));
  }
  return v;
}

export function renderWithPython(templates: TemplateEntry[], vars: Record<string, unknown>, repo: string, python = "/usr/bin/python3"): Rendered[] {
  const out = execFileSync(python, [join(projectRoot, "test/server/templates/jinja2-reference.py")], {
    input: JSON.stringify({ templates, vars, repo }),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out) as Rendered[];
}

export function renderWithVacfg(templates: TemplateEntry[], vars: Record<string, unknown>, repo: string): Rendered[] {
  const engine = new Jinja2Engine({ loader: new RepoTemplateLoader(repo) });
  const common = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, fromTagged(v)]));
  return templates.map((t) => {
    try {
      return { out: engine.renderNamed(t.path, { ...common, name: t.name, path: t.name, source_path: t.path, repo }) };
    } catch (e) {
      if (e instanceof TemplateError) return { error: `${e.kind}: ${e.detail} (${e.file}:${e.line})` };
      throw e;
    }
  });
}
