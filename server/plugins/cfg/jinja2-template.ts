// .jinja2 Cfg files, rendered as upstream's CfgJinja2Generator does: Jinja2 semantics
// (server/templates/jinja2), autoescape off, keep_trailing_newline, default Undefined, and
// its loader: FileSystemLoader('/') with RelEnvironment, so include/import/extends names are
// joined to the including template's directory (absolute names stay absolute, `..` is
// TemplateNotFound). Unlike upstream, a name outside the repository is refused.
import { readFileSync } from "node:fs";
import { dirname, posix, relative, isAbsolute } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import { TemplateError, type CompiledTemplate, type TemplateLoader } from "../../templates/engine.js";
import { Jinja2Engine } from "../../templates/jinja2/index.js";
import { PyException } from "../../templates/python/values.js";

export type { CompiledTemplate };

/** Bcfg2's RelEnvironment.join_path + FileSystemLoader('/') (split_template_path), confined to `repo`. */
export class RepoTemplateLoader implements TemplateLoader {
  constructor(private readonly repo: string) {}

  resolve(name: string, from: string | undefined): string {
    const raw = from === undefined || posix.isAbsolute(name) ? name : `${dirname(from)}/${name}`;
    const pieces: string[] = [];
    for (const piece of raw.split("/")) {
      if (piece === "..") throw new PyException("TemplateNotFound", name);
      if (piece && piece !== ".") pieces.push(piece);
    }
    const path = "/" + pieces.join("/");
    const rel = relative(this.repo, path);
    if (rel.startsWith("..") || isAbsolute(rel)) throw new PyException("TemplateNotFound", `${name} (outside the repository)`);
    return path;
  }

  load(resolved: string): string {
    try {
      return readFileSync(resolved, "utf8");
    } catch {
      throw new PyException("TemplateNotFound", resolved);
    }
  }
}

const engines = new Map<string, Jinja2Engine>();

/** One engine per repository: included templates are parsed once per content. */
export function jinja2EngineFor(repo: string): Jinja2Engine {
  let e = engines.get(repo);
  if (!e) {
    e = new Jinja2Engine({ loader: new RepoTemplateLoader(repo) });
    engines.set(repo, e);
  }
  return e;
}

function asRepoError(e: unknown): never {
  if (e instanceof TemplateError) throw new VacfgError("REPO_TEMPLATE", e.message, { cause: e });
  throw e;
}

export function compileJinja2(text: string, path: string, repo: string): CompiledTemplate {
  let tmpl: CompiledTemplate;
  try {
    tmpl = jinja2EngineFor(repo).compile(text, path);
  } catch (e) {
    return asRepoError(e);
  }
  return {
    path,
    render(vars) {
      try {
        return tmpl.render(vars);
      } catch (e) {
        return asRepoError(e);
      }
    },
  };
}
