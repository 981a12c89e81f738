// Trigger on vacfg and on the upstream server: each script in Trigger/ runs after a client's
// configuration with the client's name, profile and groups, as upstream passes them; the GetConfig
// answer does not wait for it (the script here waits for a file the test writes only after both
// answers came back); a failing script is logged with its stderr.
import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KIT_PLUGINS, sideBySide, SITE_PASSWORD, type SideBySide } from "../../compat/sites.js";
import { writeRepo } from "../core/harness.js";
import { makeTriggersExecutable, TRIGGER_FILES, triggerArgs } from "./trigger-fixture.js";

describe("Trigger: scripts after a client's run, on vacfg and the upstream server", function () {
  this.timeout(300_000);
  let s: SideBySide;
  let work: string;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), "vacfg-trigger-"));
    writeRepo(work, {
      "Metadata/groups.xml": '<Groups>\n  <Group name="web" profile="true">\n    <Group name="linux"/>\n    <Group name="debian"/>\n  </Group>\n</Groups>\n',
      "Metadata/clients.xml": '<Clients>\n  <Client name="web1" profile="web"/>\n</Clients>\n',
      ...TRIGGER_FILES,
    });
    makeTriggersExecutable(work);
    s = await sideBySide(work, { plugins: [...KIT_PLUGINS, "Trigger"], upstreamPlugins: ["Trigger"] });
  });
  after(async () => {
    await s?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("runs every script with CLIENT -p PROFILE -g GROUPS without holding up GetConfig, and logs a failing one", async () => {
    const repos = { vacfg: join(s.dir, "repo"), upstream: s.upstream.repo };
    const answers = await s.both("web1", SITE_PASSWORD, "GetConfig");
    expect(answers.vacfg).to.include("<Configuration");
    expect(answers.upstream).to.include("<Configuration");
    // Both answered while record.sh is still waiting to be released.
    for (const repo of Object.values(repos)) expect(existsSync(join(repo, "trigger.out.web1"))).to.equal(false);
    for (const repo of Object.values(repos)) writeFileSync(join(repo, "release"), "");
    const ours = await triggerArgs(repos.vacfg, "web1");
    const theirs = await triggerArgs(repos.upstream, "web1");
    expect(ours.slice(0, 4)).to.deep.equal(["web1", "-p", "web", "-g"]);
    expect(ours.slice(0, 4)).to.deep.equal(theirs.slice(0, 4));
    // Upstream joins a Python set (hash order); vacfg sorts. The same groups either way.
    expect(ours[4]).to.equal("debian:linux:web");
    expect(ours[4]!.split(":").sort()).to.deep.equal(theirs[4]!.split(":").sort());
    const log = async () => readFileSync(join(s.dir, "server.log"), "utf8");
    for (let i = 0; i < 600 && !(await log()).includes("fails.sh"); i++) await sleep(50);
    expect(await log()).to.include("Trigger: Error running Trigger/fails.sh: exit 3: boom: web1");
  });
});
