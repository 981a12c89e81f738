// What a compiled entry module needs at run time: the relative modules it reaches (transitively)
// and the npm packages they import, with those packages' own runtime dependencies. Used to stage
// the installable tree of the vacfg package without a package manager.
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { VacfgError } from "../protocol/errors.js";

// Static `import … from "x"`, `export … from "x"`, side-effect `import "x"` and literal `import("x")`.
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|(?:^|[\s;])import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm;

// Whole-line `//` comments and `/* … */` blocks that start a line: what tsc keeps of the source's
// comments, where an example such as this file's own would otherwise read as an import.
const COMMENT = /^[ \t]*\/\/.*$|^[ \t]*\/\*[\s\S]*?\*\//gm;

/** The specifiers a module's text imports (comments left out). */
export function importSpecifiers(text: string): string[] {
  return [...text.replace(COMMENT, "").matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** The npm package a bare specifier names (`@scope/pkg/sub` → `@scope/pkg`), undefined for node built-ins. */
export function packageOf(spec: string): string | undefined {
  if (spec.startsWith("node:")) return undefined;
  return spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
}

/** Every module reachable from `entries` by relative imports, and the npm packages they name. */
export async function moduleClosure(entries: string[]): Promise<{ files: string[]; packages: string[] }> {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = entries.map((e) => resolve(e));
  while (todo.length) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      throw new VacfgError("PACKAGE", `module closure: cannot read ${file} (build with npx tsc -p . first): ${(e as Error).message}`);
    }
    files.add(file);
    for (const spec of importSpecifiers(text)) {
      if (spec.startsWith(".")) todo.push(resolve(dirname(file), spec));
      else {
        const p = packageOf(spec);
        if (p) packages.add(p);
      }
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

/** The packages and their runtime dependencies (package.json `dependencies`), found under `nodeModules`. */
export async function npmClosure(nodeModules: string, roots: Iterable<string>, skip: ReadonlySet<string> = new Set()): Promise<string[]> {
  const seen = new Set<string>();
  const todo = [...roots];
  while (todo.length) {
    const name = todo.pop()!;
    if (seen.has(name) || skip.has(name)) continue;
    let pkg: { dependencies?: Record<string, string> };
    try {
      pkg = JSON.parse(await readFile(join(nodeModules, name, "package.json"), "utf8")) as typeof pkg;
    } catch (e) {
      throw new VacfgError("PACKAGE", `npm package ${name} is not installed under ${nodeModules}: ${(e as Error).message}`);
    }
    seen.add(name);
    todo.push(...Object.keys(pkg.dependencies ?? {}));
  }
  return [...seen].sort();
}
