// The Jinja2 engine behind the TemplateEngine interface: compiles (parses, and checks every
// filter and test name as Jinja2's compiler does), caches templates loaded by name, renders.
import { CompileError, RenderError, type CompiledTemplate, type TemplateEngine, type TemplateLoader } from "../engine.js";
import { PyException } from "../python/values.js";
import type { Expr, TemplateAst } from "./ast.js";
import { TemplateSyntaxError } from "./errors.js";
import { FILTERS } from "./filters.js";
import { markScopes } from "./scopes.js";
import { LocatedError, Renderer, type Host, type LoadedTemplate } from "./interpreter.js";
import { parseTemplate } from "./parser.js";
import { TESTS } from "./tests.js";

export interface Jinja2Options {
  /** Finds include/import/extends targets; without one they are TemplateNotFound. */
  loader?: TemplateLoader;
  /** Escape output as HTML (what the reporting pages use); Bcfg2's environment leaves it off. */
  autoescape?: boolean;
  /** Extra filters by name: called with the value and the positional arguments. */
  filters?: Record<string, (value: unknown, ...args: unknown[]) => unknown>;
}

/** Jinja2's compile-time checks: unknown filters and tests are errors before any rendering. */
function checkNames(ast: TemplateAst, name: string, extra: Record<string, unknown>): void {
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object" && "k" in v) {
      const e = v as Expr;
      if (e.k === "filter" && !Object.prototype.hasOwnProperty.call(FILTERS, e.name) && !Object.prototype.hasOwnProperty.call(extra, e.name)) throw new TemplateSyntaxError(`No filter named '${e.name}'.`, name, e.line);
      if (e.k === "test" && !Object.prototype.hasOwnProperty.call(TESTS, e.name)) throw new TemplateSyntaxError(`No test named '${e.name}'.`, name, e.line);
      for (const x of Object.values(v)) if (x && typeof x === "object") visit(x);
    }
  };
  visit(ast.body);
}

export class Jinja2Engine implements TemplateEngine {
  private readonly cache = new Map<string, { source: string; tmpl: LoadedTemplate }>();
  private readonly host: Host;

  constructor(private readonly opts: Jinja2Options = {}) {
    this.host = {
      autoescape: !!opts.autoescape,
      filters: opts.filters ?? {},
      load: (name, from) => this.load(name, from),
    };
  }

  private parse(source: string, name: string): LoadedTemplate {
    try {
      const ast = parseTemplate(source, name);
      checkNames(ast, name, this.opts.filters ?? {});
      markScopes(ast.body);
      return { name, ast };
    } catch (e) {
      if (e instanceof TemplateSyntaxError) throw new CompileError("TemplateSyntaxError", e.detail, e.file, e.line);
      throw e;
    }
  }

  /** A template by name (include/import/extends), parsed once per source text. */
  private load(name: string, from: string | undefined): LoadedTemplate {
    const loader = this.opts.loader;
    if (!loader) throw new PyException("TemplateNotFound", name);
    const resolved = loader.resolve(name, from);
    const source = loader.load(resolved);
    const hit = this.cache.get(resolved);
    if (hit && hit.source === source) return hit.tmpl;
    const tmpl = this.parse(source, resolved);
    this.cache.set(resolved, { source, tmpl });
    return tmpl;
  }

  compile(source: string, name: string): CompiledTemplate {
    const tmpl = this.parse(source, name);
    return { path: name, render: (context) => this.render(tmpl, context as Record<string, unknown>) };
  }

  /** Renders a template the loader finds by name. */
  renderNamed(name: string, context: Record<string, unknown>): string {
    let tmpl: LoadedTemplate;
    try {
      tmpl = this.load(name, undefined);
    } catch (e) {
      if (e instanceof PyException) throw new RenderError(e.pyType, e.detail, name, 0);
      throw e;
    }
    return this.render(tmpl, context);
  }

  private render(tmpl: LoadedTemplate, context: Record<string, unknown>): string {
    try {
      const vars = new Map<string, unknown>();
      for (const k in context) if (Object.prototype.hasOwnProperty.call(context, k)) vars.set(k, context[k]);
      return new Renderer(this.host).render(tmpl, vars);
    } catch (e) {
      if (e instanceof LocatedError) {
        const inner = e.error;
        if (inner instanceof CompileError || inner instanceof RenderError) throw inner;
        if (inner instanceof PyException) throw new RenderError(inner.pyType, inner.detail, e.file, e.line);
        if (inner instanceof RangeError) throw new RenderError("RecursionError", "maximum recursion depth exceeded", e.file, e.line);
        throw new RenderError(inner instanceof Error ? inner.name : "Error", inner instanceof Error ? inner.message : String(inner), e.file, e.line);
      }
      throw e;
    }
  }
}
