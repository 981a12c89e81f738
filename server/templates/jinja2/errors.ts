// Jinja2's exception classes, raised while compiling or rendering; the engine turns them into
// CompileError/RenderError with the template's name and line.
import { PyException } from "../python/values.js";

export class TemplateSyntaxError extends Error {
  constructor(
    readonly detail: string,
    readonly file: string,
    readonly line: number,
  ) {
    super(detail);
  }
}

/** A Jinja2 runtime error class (UndefinedError, TemplateNotFound, TemplateRuntimeError...). */
export function jinjaError(kind: string, detail: string): PyException {
  return new PyException(kind, detail);
}
