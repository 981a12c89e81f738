// `npm run package`: builds the Debian packages into dist/debs (or the directory given), offline.
// Usage: node dist/packaging/build-packages.js [OUTDIR]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildPackages } from "./packages.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const outDir = resolve(process.argv[2] ?? join(projectRoot, "dist", "debs"));
const stage = await mkdtemp(join(tmpdir(), "vacfg-package-"));
try {
  const started = Date.now();
  for (const p of await buildPackages(projectRoot, outDir, stage)) console.log(`${p.path} (${(p.bytes / 2 ** 20).toFixed(1)} MiB)`);
  console.log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} finally {
  await rm(stage, { recursive: true, force: true });
}
