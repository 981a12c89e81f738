// .genshi Cfg files (Genshi NewTextTemplate). Placeholder until the subset renderer lands.
import { VacfgError } from "../../../protocol/errors.js";
import type { CompiledTemplate } from "./jinja2-template.js";

export function compileGenshi(_text: string, path: string): CompiledTemplate {
  return {
    path,
    render() {
      throw new VacfgError("REPO_TEMPLATE", `${path}: genshi templates are not supported`);
    },
  };
}
