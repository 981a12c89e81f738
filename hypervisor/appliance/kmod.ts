// Kernel modules for the initramfs: finds the .ko files for the wanted drivers in an unpacked
// kernel package and orders them so each module's dependencies load first. The package ships
// no modules.dep (depmod runs at install), so dependencies come from each module's .modinfo.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";

const norm = (n: string) => n.replace(/-/g, "_");

async function indexModules(dir: string, index = new Map<string, string>()): Promise<Map<string, string>> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await indexModules(p, index);
    else if (e.name.endsWith(".ko")) index.set(norm(e.name.slice(0, -3)), p);
  }
  return index;
}

/** The `depends=` field of a module's .modinfo section (NUL-separated key=value strings). */
export function moduleDepends(ko: Buffer): string[] {
  const key = Buffer.from("\0depends=");
  const at = ko.indexOf(key);
  if (at < 0) return [];
  const start = at + key.length;
  const end = ko.indexOf(0, start);
  const value = ko.subarray(start, end < 0 ? undefined : end).toString("latin1");
  return value.split(",").map((s) => norm(s.trim())).filter(Boolean);
}

async function builtins(modulesDir: string): Promise<Set<string>> {
  try {
    const text = await readFile(join(modulesDir, "modules.builtin"), "utf8");
    return new Set(text.split("\n").filter(Boolean).map((l) => norm(l.replace(/^.*\//, "").replace(/\.ko$/, ""))));
  } catch {
    return new Set();
  }
}

/** .ko paths for `wanted` and their dependencies, dependencies first; built-in modules are skipped. */
export async function resolveModules(modulesDir: string, wanted: string[]): Promise<string[]> {
  const index = await indexModules(join(modulesDir, "kernel"));
  const builtin = await builtins(modulesDir);
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = async (name: string, chain: string[]): Promise<void> => {
    const n = norm(name);
    if (seen.has(n) || builtin.has(n)) return;
    if (chain.includes(n)) throw new VacfgError("IMAGE", `module dependency cycle: ${[...chain, n].join(" -> ")}`);
    const path = index.get(n);
    if (!path) throw new VacfgError("IMAGE", `kernel module ${n} not found under ${modulesDir}`);
    for (const dep of moduleDepends(await readFile(path))) await visit(dep, [...chain, n]);
    seen.add(n);
    order.push(path);
  };
  for (const w of wanted) await visit(w, []);
  return order;
}
