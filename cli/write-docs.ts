// `npm run docs`: writes the generated reference pages of docs/ (cli/reference-docs.ts) and the manual page (cli/man-page.ts).
import { writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderCliReference, renderErrorCatalogue } from "./reference-docs.js";
import { renderManPage } from "./man-page.js";

/** The project root when running from dist/cli/. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
for (const [file, text] of [
  ["docs/cli.md", renderCliReference()],
  ["docs/errors.md", renderErrorCatalogue()],
  ["docs/vacfg.1", renderManPage()],
] as const) {
  writeFileSync(resolve(root, file), text);
  console.log(`wrote ${file}`);
}
