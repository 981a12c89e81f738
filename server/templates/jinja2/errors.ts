// Jinja2's TemplateSyntaxError, raised by the lexer and parser; the engine turns it into a
// CompileError naming the template and line.
export class TemplateSyntaxError extends Error {
  constructor(
    readonly detail: string,
    readonly file: string,
    readonly line: number,
  ) {
    super(detail);
  }
}

