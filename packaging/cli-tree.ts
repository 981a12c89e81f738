// The vacfg command as an installed tree (/usr/lib/vacfg): the compiled modules dist/cli/vacfg.js
// reaches, the npm packages they import with their runtime dependencies (pruned to what runs), and
// the data files the code finds beside itself (schemas/, the reporting UI's views, the example repository).
import { cp, mkdir, writeFile } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { moduleClosure, npmClosure } from "../lib/module-closure.js";

/** Install-time or build-time only: never loaded by the installed command. */
const NOT_AT_RUN_TIME = new Set(["prebuild-install", "esbuild"]);
/** Packages with native parts: only these paths are shipped (no C sources, object files, test addons). */
const KEEP_ONLY: Record<string, string[]> = {
  "better-sqlite3": ["package.json", "lib", "build/Release/better_sqlite3.node"],
};
/** Data the code reads relative to the project root. */
const DATA = ["schemas", "server/reporting/views", "server/reporting/reports.css", "repo"];

const shipped = (src: string): boolean => {
  const name = basename(src);
  return !(name.endsWith(".md") || name.endsWith(".map") || name.endsWith(".d.ts") || name === ".github" || name === "test" || name === "tests");
};

export async function stageCliTree(projectRoot: string, dest: string, version: string): Promise<{ modules: number; packages: string[] }> {
  const dist = join(projectRoot, "dist");
  const { files, packages } = await moduleClosure([join(dist, "cli", "vacfg.js")]);
  for (const f of files) {
    const to = join(dest, "dist", relative(dist, f));
    await mkdir(join(to, ".."), { recursive: true });
    await cp(f, to);
  }
  const nodeModules = join(projectRoot, "node_modules");
  const npm = await npmClosure(nodeModules, packages.filter((p) => !NOT_AT_RUN_TIME.has(p)), NOT_AT_RUN_TIME);
  for (const p of npm) {
    const keep = KEEP_ONLY[p];
    if (keep) for (const k of keep) await cp(join(nodeModules, p, k), join(dest, "node_modules", p, k), { recursive: true });
    else await cp(join(nodeModules, p), join(dest, "node_modules", p), { recursive: true, filter: shipped });
  }
  for (const d of DATA) await cp(join(projectRoot, d), join(dest, d), { recursive: true });
  await writeFile(join(dest, "package.json"), JSON.stringify({ name: "vacfg", version, private: true, type: "module" }, null, 2) + "\n");
  return { modules: files.length, packages: npm };
}
