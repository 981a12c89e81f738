// `npm test`: installs the Debian packages the suite needs (as root, when missing),
// then runs mocha over the compiled tests. Services are started by the tests themselves.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { exitLikeMocha } from "../support/mocha-exit.js";
import { ensureUpstreamInstalled } from "../support/upstream-bcfg2.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export function requiredDebianPackages(): string[] {
  const list = readFileSync(join(projectRoot, "test/setup/debian-packages.txt"), "utf8");
  return list
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
}

function missing(pkgs: string[]): string[] {
  return pkgs.filter((p) => {
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", p], { encoding: "utf8" });
    return !(r.status === 0 && r.stdout.includes("install ok installed"));
  });
}

function ensureDebianPackages(): void {
  const need = missing(requiredDebianPackages());
  if (need.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.warn(`[setup] not root: cannot install ${need.join(" ")}; tests needing them will fail`);
    return;
  }
  console.log(`[setup] installing Debian packages: ${need.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  const r = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...need], { stdio: "inherit", env });
  if (r.status !== 0) throw new Error(`apt-get install failed (exit ${r.status})`);
}

ensureDebianPackages();
// The upstream Bcfg2 kit (shared/bcfg2-ref) is the oracle for compatibility tests.
if (!ensureUpstreamInstalled()) console.warn("[setup] upstream Bcfg2 reference not available: compatibility tests will fail");
const mocha = join(projectRoot, "node_modules/mocha/bin/mocha.js");
const args = process.argv.slice(2);
const r = spawnSync(process.execPath, [mocha, ...(args.length ? args : [])], { stdio: "inherit", cwd: projectRoot });
exitLikeMocha(r);
