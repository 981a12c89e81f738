// `npm run test:compat`: the suites that compare vacfg with the real upstream Bcfg2 (shared/bcfg2-ref).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { projectRoot } from "../support/paths.js";
import { exitLikeMocha } from "../support/mocha-exit.js";
import { ensureUpstreamInstalled } from "../support/upstream-bcfg2.js";

if (!ensureUpstreamInstalled()) {
  console.error("test:compat needs the upstream Bcfg2 reference (../shared/bcfg2-ref/setup.sh, as root)");
  process.exit(1);
}
const mocha = join(projectRoot, "node_modules/mocha/bin/mocha.js");
const r = spawnSync(process.execPath, [mocha, "--no-config", "--forbid-pending", "--forbid-only", "--timeout", "300000", "dist/test/compat/*.compat.js"], {
  stdio: "inherit",
  cwd: projectRoot,
});
exitLikeMocha(r);
