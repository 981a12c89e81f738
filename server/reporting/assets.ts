// Where the reporting UI's templates and stylesheet live on disk: beside this module in the
// source tree, or under server/reporting/ of the project when running from dist/ (tsc copies no templates).
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

function locate(name: string): string {
  const candidates = [join(here, name), resolve(here, "../../../server/reporting", name)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`reporting UI: ${name} not found (looked in ${candidates.join(", ")})`);
  return found;
}

export const viewsDir = (): string => locate("views");
export const stylesheetPath = (): string => locate("reports.css");
