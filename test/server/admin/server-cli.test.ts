// `vacfg server` as an admin starts it (the real CLI process): the start-up lines name the URL, the
// repository, the reports URL and where the admin password is; a repository that is missing or
// empty is refused with the reason instead of a server that serves nothing.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { exampleRepo, projectRoot } from "../../support/paths.js";

const VACFG = join(projectRoot, "dist/cli/vacfg.js");

/** Runs `vacfg server ARGS` until it prints the reports line (then stops it) or exits. */
function serve(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.VACFG_ADMIN_PASSWORD;
    const child = spawn(process.execPath, [VACFG, "server", ...args], { cwd, env });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (d) => {
      stdout += d;
      if (stdout.includes("\nreports: ")) child.kill("SIGTERM");
    });
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("vacfg server: start-up", function () {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-serve-"));
    cpSync(exampleRepo, join(dir, "repo"), { recursive: true });
    mkdirSync(join(dir, "empty"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("names the URL, the repository, the reports URL and where the admin password is", async () => {
    const r = await serve(["-r", "repo", "-d", "data", "--host", "127.0.0.1", "-p", "0"], dir);
    const url = /^vacfg server listening on (https:\/\/127\.0\.0\.1:\d+), serving the repository (.*)$/m.exec(r.stdout);
    expect(url, r.stdout + r.stderr).to.not.equal(null);
    expect(url![2]).to.equal(join(dir, "repo"));
    expect(r.stdout).to.contain(`reports: ${url![1]}/reports/ (user admin, password in ${join(dir, "data/admin-password")})\n`);
  });

  it("refuses a repository that is missing or empty, saying so", async () => {
    const missing = await serve(["-r", "nosuch", "-d", "data", "--host", "127.0.0.1", "-p", "0"], dir);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain(`repository ${join(dir, "nosuch")} does not exist`);
    const empty = await serve(["-r", "empty", "-d", "data", "--host", "127.0.0.1", "-p", "0"], dir);
    expect(empty.code).to.equal(1);
    expect(empty.stderr).to.contain(`repository ${join(dir, "empty")} is empty`);
  });
});
