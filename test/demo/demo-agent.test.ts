// `npm run demo` (vacfg demo agent) as a user sees it: the real CLI on embedded defaults, the
// server on the example repository and the agent in two sandbox roots. No line may report an
// error, and the second run of each node finds nothing left to do (0 bad, 0 modified).
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { projectRoot } from "../support/paths.js";

const run = promisify(execFile);

describe("demo: vacfg demo agent (npm run demo)", function () {
  this.timeout(180_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "vacfg-demo-agent-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints no error line, and each node's second run reports 0 bad and 0 modified entries", async () => {
    const r = await run(process.execPath, [join(projectRoot, "dist/cli/vacfg.js"), "demo", "-d", join(dir, "d")], { cwd: dir, maxBuffer: 16 << 20 });
    const lines = (r.stdout + r.stderr).split("\n");
    expect(lines.filter((l) => /\berror\b|\bfailed\b|exception/i.test(l)), "error lines").to.deep.equal([]);
    const runs = lines.filter((l) => /^(first|second) run:/.test(l));
    expect(runs, r.stdout).to.have.length(4);
    for (const second of runs.filter((l) => l.startsWith("second"))) expect(second).to.match(/^second run: +exit 0, clean: (\d+)\/\1 entries good, 0 modified, 0 bad$/);
    // the head's role and files come from its signed parameters, not from fixtures or a profile
    expect(r.stdout).to.match(/== node1\.cluster \(head node\)[\s\S]*-- \/etc\/slurm\/slurm\.conf\n[\s\S]*^SlurmctldHost=node1\(10\.0\.0\.10\)$[\s\S]*^NodeName=node2 NodeAddr=10\.0\.0\.\d+ CPUs=1 State=UNKNOWN$/m);
  });
});
