// .cheetah Cfg files: a safe subset of Cheetah 3 as Bcfg2's CfgCheetahGenerator runs it
// (compilerSettings {useStackFrames: False}, everything else default, so NameMapper's
// autocalling IS on): $placeholders, ${expr}/$(expr)/$[expr], $!silent, \$ \# escapes, ## and
// #* *# comments, #if/#elif/#else, #for, #set, #silent, #slurp, #raw, #end, EOL slurp (`#` at
// end of line). The parser mirrors Cheetah.Parser's token order and whitespace rules (a
// directive alone on its line eats its indentation and newline). Expressions run in the safe
// Python subset of python-expr.ts; every other directive and <% %> is refused, never executed.
import { VacfgError } from "../../../protocol/errors.js";
import type { CompiledTemplate } from "../engine.js";
import { bindTargets, evaluate, type Scope } from "../python/expr.js";
import { NotFound, SL_KEY } from "./names.js";
import { Parser, TemplateSyntax, type CNode } from "./parser.js";
import { iterate, PyException, pyStr, truthy } from "../python/values.js";

class RenderError extends Error {
  constructor(message: string, readonly line: number) {
    super(message);
  }
}

// ------------------------------------------------------------ rendering
function render(nodes: CNode[], scope: Scope, out: string[]): void {
  for (const n of nodes) {
    if (n.k === "text") {
      out.push(n.s);
      continue;
    }
    try {
      switch (n.k) {
        case "ph": {
          let v: unknown;
          try {
            v = evaluate(n.e, scope);
          } catch (e) {
            if (n.silent && e instanceof NotFound) break;
            throw e;
          }
          // Cheetah's default filter: None prints nothing, str() for the rest.
          if (v !== null && v !== undefined) out.push(pyStr(v));
          break;
        }
        case "set": {
          const v = evaluate(n.e, scope);
          if (n.op === "=") bindTargets(scope, n.targets, v);
          else {
            const name = n.targets[0]!;
            if (!scope.has(name)) throw new PyException("UnboundLocalError", `local variable '${name}' referenced before assignment`);
            scope.set(name, evaluate({ k: "bin", op: n.op.slice(0, -1), a: { k: "const", v: scope.get(name) }, b: { k: "const", v } }, scope));
          }
          break;
        }
        case "silent":
          evaluate(n.e, scope);
          break;
        case "if":
          for (const b of n.branches) {
            if (b.c === undefined || truthy(evaluate(b.c, scope))) {
              render(b.body, scope, out);
              break;
            }
          }
          break;
        case "for":
          for (const item of iterate(evaluate(n.it, scope))) {
            bindTargets(scope, n.targets, item); // a Python for: the variable outlives the loop
            render(n.body, scope, out);
          }
          break;
      }
    } catch (e) {
      if (e instanceof RenderError) throw e;
      // A bare (non-$) name is a Python local or builtin: Python calls a missing one a NameError.
      const bare = e instanceof PyException && e.pyType === "UndefinedError" ? /^UndefinedError: "(\w+)" not defined$/.exec(e.message) : null;
      throw new RenderError(bare ? `NameError: name '${bare[1]}' is not defined` : (e as Error).message, n.line);
    }
  }
}

/** Compile a .cheetah file; syntax errors and unsupported directives are REPO_TEMPLATE errors naming FILE:LINE. */
export function compileCheetah(text: string, path: string): CompiledTemplate {
  let nodes: CNode[];
  try {
    nodes = new Parser(text).parseAll();
  } catch (e) {
    const line = e instanceof TemplateSyntax ? e.line : 1;
    throw new VacfgError("REPO_TEMPLATE", `${path}:${line}: ParseError: ${(e as Error).message}`, { cause: e });
  }
  return {
    path,
    render(vars) {
      // Locals start empty: bare names see only #set/#for variables and builtins, $names also the template's variables.
      const scope: Scope = new Map([[SL_KEY, { ...vars }]]);
      const out: string[] = [];
      try {
        render(nodes, scope, out);
      } catch (e) {
        const line = e instanceof RenderError ? e.line : 1;
        throw new VacfgError("REPO_TEMPLATE", `${path}:${line}: ${(e as Error).message}`, { cause: e });
      }
      return out.join("");
    },
  };
}
