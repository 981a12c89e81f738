// A TemplateLoader for one directory of an application's own templates (the reporting pages):
// names are relative to the directory and may not leave it.
import { readFileSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";
import type { TemplateLoader } from "./engine.js";
import { PyException } from "./python/values.js";

export class DirectoryLoader implements TemplateLoader {
  constructor(private readonly dir: string) {}

  resolve(name: string): string {
    const n = normalize(name);
    if (isAbsolute(n) || n.startsWith("..")) throw new PyException("TemplateNotFound", name);
    return n;
  }

  load(resolved: string): string {
    try {
      return readFileSync(join(this.dir, resolved), "utf8");
    } catch {
      throw new PyException("TemplateNotFound", resolved);
    }
  }
}
