// Finds the project's schemas/ folder from this module, in the source tree and in dist/.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/** The schemas/ folder holding metadata.xsd, searched upward from this file. */
export function defaultSchemaDir(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "schemas");
    if (existsSync(join(candidate, "metadata.xsd"))) return (cached = candidate);
    const up = dirname(dir);
    if (up === dir) throw new Error(`schemas/ not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
