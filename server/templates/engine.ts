// The one interface every template language implements (Genshi text, Cheetah, Jinja2): compile
// once per file version, render per client with the data model's variables. Errors are
// REPO_TEMPLATE VacfgErrors whose message starts with `file:line:` (Jinja2's TemplateError
// subclasses carry the file, line and Python error class separately; Cfg wraps them).
export interface CompiledTemplate {
  path: string;
  render(vars: object): string;
}

export interface TemplateEngine {
  compile(source: string, name: string): CompiledTemplate;
}

/** Finds templates named by include/import/extends. */
export interface TemplateLoader {
  /** The canonical name of `name` as referenced from the template `from` (undefined at top level). */
  resolve(name: string, from: string | undefined): string;
  /** The source of a resolved name; throws TemplateNotFound when there is none. */
  load(resolved: string): string;
}

/** A template failure at file:line; `kind` is the language's error class (e.g. UndefinedError). */
export class TemplateError extends Error {
  constructor(
    readonly kind: string,
    readonly detail: string,
    readonly file: string,
    readonly line: number,
  ) {
    super(`${file}:${line}: ${kind}: ${detail}`);
  }
}

/** The template cannot be compiled (syntax, or a construct the engine does not implement). */
export class CompileError extends TemplateError {}

/** Rendering failed. */
export class RenderError extends TemplateError {}
