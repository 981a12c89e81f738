// Where the tests find the project, the example repository and the shared reference kit.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root (tests run from dist/test/...). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const exampleRepo = resolve(projectRoot, "repo");
export const sharedDir = resolve(projectRoot, "../shared");
export const bcfg2RefKit = resolve(sharedDir, "bcfg2-ref");
export const transcriptsDir = resolve(bcfg2RefKit, "transcripts");
/** Where setup.sh installs the upstream reference (BCFG2_REF overrides). */
export const bcfg2RefInstall = process.env.BCFG2_REF ?? "/opt/bcfg2-ref";
