// The one interface every template language implements (Genshi text, Cheetah, Jinja2): compile
// once per file version, render per client with the data model's variables. Errors are
// REPO_TEMPLATE VacfgErrors whose message starts with `file:line:`.
export interface CompiledTemplate {
  path: string;
  render(vars: object): string;
}
