// .jinja2 Cfg files rendered with nunjucks (Jinja2's JavaScript sibling): autoescape off,
// includes relative to the including template (upstream's RelEnvironment), errors as path:line.
import nunjucks from "nunjucks";
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";

export interface CompiledTemplate {
  path: string;
  render(vars: object): string;
}

/** Loads `{% include %}`/`{% extends %}` targets; names resolve against the including file. */
class RepoLoader extends nunjucks.Loader implements nunjucks.ILoader {
  constructor(private readonly root: string) {
    super();
  }
  override isRelative(name: string): boolean {
    return !isAbsolute(name);
  }
  override resolve(from: string, to: string): string {
    return resolve(dirname(from), to);
  }
  getSource(name: string): nunjucks.LoaderSource {
    const full = resolve(this.root, name);
    const rel = relative(this.root, full);
    if (rel.startsWith("..") || isAbsolute(rel)) throw new Error(`template ${name} is outside the repository`);
    // noCache: included files are re-read on every render, so edits show without a restart.
    return { src: readFileSync(full, "utf8"), path: full, noCache: true };
  }
}

const environments = new Map<string, nunjucks.Environment>();

function environmentFor(repo: string): nunjucks.Environment {
  let env = environments.get(repo);
  if (!env) {
    env = new nunjucks.Environment(new RepoLoader(repo), { autoescape: false, throwOnUndefined: false });
    environments.set(repo, env);
  }
  return env;
}

/**
 * Turns a nunjucks message "(path) [Line N, Column M]\n  Error: msg" into "path:line: msg".
 * Render-time line numbers are 0-based and omitted on the first line; compile-time ones are 1-based.
 */
export function templateErrorMessage(e: unknown, path: string, phase: "compile" | "render"): string {
  const raw = e instanceof Error ? e.message : String(e);
  const m = /^\((.*?)\)(?: \[Line (\d+), Column (\d+)\])?\s*\n?\s*([\s\S]*)$/.exec(raw);
  if (!m) return `${path}:1: ${raw}`;
  const file = m[1] || path;
  const n = m[2] === undefined ? (phase === "render" ? 0 : 1) : Number(m[2]);
  const line = phase === "render" ? n + 1 : n;
  const msg = m[4]!.replace(/^Error: /, "").trim();
  return `${file}:${line}: ${msg}`;
}

export function compileJinja2(text: string, path: string, repo: string): CompiledTemplate {
  let tmpl: nunjucks.Template;
  try {
    tmpl = new nunjucks.Template(text, environmentFor(repo), path, true);
  } catch (e) {
    throw new VacfgError("REPO_TEMPLATE", templateErrorMessage(e, path, "compile"), { cause: e });
  }
  return {
    path,
    render(vars) {
      try {
        return tmpl.render(vars);
      } catch (e) {
        throw new VacfgError("REPO_TEMPLATE", templateErrorMessage(e, path, "render"), { cause: e });
      }
    },
  };
}
