// bcfg2-admin pull against vacfg pull: the real upstream client runs dry against both servers (the
// upstream one with its Reporting plugin storing the statistics in Django, vacfg in its store), on files
// an admin changed on this machine; then upstream's bcfg2-admin pull and vacfg pull take the same
// entries into their copies of the same repository. The permissions land in the same info.xml, and -I
// offers the same places; where upstream loses the content, vacfg writes the client's file.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { projectRoot } from "../support/paths.js";
import { runRealClient, upstreamAdmin } from "../support/upstream-bcfg2.js";
import { writeRepo } from "../server/core/harness.js";
import { sideBySide, SITE_PASSWORD, type SideBySide } from "./sites.js";

const run = promisify(execFile);
const vacfg = join(projectRoot, "dist/cli/vacfg.js");

const APP_SERVED = "# app\nport = 80\nworkers = 4\n";
const APP_ON_CLIENT = "# app\nport = 8080\nworkers = 4\nlog = debug\n";

async function vacfgPull(s: SideBySide, args: string[], input = ""): Promise<{ status: number; stderr: string }> {
  const p = run(process.execPath, [vacfg, "pull", "-c", join(s.dir, "vacfg.conf"), ...args], { encoding: "utf8" });
  p.child.stdin?.end(input);
  try {
    const r = await p;
    return { status: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { status: err.code ?? 1, stderr: err.stderr ?? "" };
  }
}

/** The choice lines of upstream's Choose (print and input prompts), whichever stream they went to. */
function choiceLines(text: string): string[] {
  return text
    .replace(/Use this entry\? \[yN\]: /g, "Use this entry? [yN]:\n")
    .split("\n")
    .filter((l) => /^(Plugin returned choice:|\(current entry\)| => |Use this entry)/.test(l))
    .map((l) => l.trimEnd());
}

describe("vacfg pull = bcfg2-admin pull (statistics from the real client)", function () {
  this.timeout(300_000);
  let work: string;
  let root: string;
  let s: SideBySide;
  const cfg = (repo: string, name: string) => join(repo, "Cfg", root, name);

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "vacfg-pull-compat-"));
    root = join(work, "client");
    const repo = join(work, "repo");
    writeRepo(repo, {
      "Metadata/groups.xml": '<Groups>\n  <Group name="web" profile="true" public="true" default="true"><Bundle name="app"/></Group>\n</Groups>\n',
      "Metadata/clients.xml": '<Clients>\n  <Client name="web1" profile="web"/>\n</Clients>\n',
      "Bundler/app.xml": `<Bundle>\n  <Path name="${root}/app.conf"/>\n  <Path name="${root}/motd"/>\n</Bundle>\n`,
      [`Cfg${root}/app.conf/app.conf`]: APP_SERVED,
      [`Cfg${root}/motd/motd`]: "global motd\n",
      [`Cfg${root}/motd/motd.G50_web`]: "web motd\n",
    });
    // What the admin changed by hand on the client (this machine: the real client runs dry on /).
    mkdirSync(root);
    writeFileSync(join(root, "app.conf"), APP_ON_CLIENT);
    chmodSync(join(root, "app.conf"), 0o640);
    chownSync(join(root, "app.conf"), 1234, 1234);
    writeFileSync(join(root, "motd"), "motd edited on web1\n");
    chmodSync(join(root, "motd"), 0o644);
    s = await sideBySide(repo, { reporting: true });
    for (const url of [s.upstream.url, s.vacfg.url]) {
      const r = await runRealClient(url, "web1", SITE_PASSWORD);
      expect(r.status, r.output).to.equal(0);
      expect(r.output).to.include("Incorrect entries:      2");
    }
    // Upstream's DirectStore imports the statistics in a thread: wait until Django has them.
    const db = new Database(join(s.upstream.repo, "..", "bcfg2.sqlite"), { readonly: true, fileMustExist: true });
    try {
      // Up to two minutes: the import thread is slow on a loaded machine.
      for (let i = 0; i < 480; i++) {
        const row = db.prepare("SELECT count(*) AS n FROM Reporting_pathentry").get() as { n: number };
        if (row.n >= 2) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      db.close();
    }
  });
  after(async () => {
    await s?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("offers the same places with -I, best first (the group file the client gets, then its own)", async () => {
    const up = await upstreamAdmin(s.upstream, ["pull", "-I", "web1", "Path", `${root}/motd`], ["n", "n"]);
    expect(up.status, up.stdout + up.stderr).to.equal(0);
    const ours = await vacfgPull(s, ["-I", "web1", "Path", `${root}/motd`], "n\nn\n");
    expect(ours.status, ours.stderr).to.equal(0);
    expect(choiceLines(ours.stderr)).to.deep.equal(choiceLines(up.stdout)).and.to.deep.equal([
      "Plugin returned choice:",
      "(current entry)",
      " => group entry: web (prio 50)",
      "Use this entry? [yN]:",
      "Plugin returned choice:",
      " => host entry: web1",
      "Use this entry? [yN]:",
    ]);
    expect(readdirSync(cfg(s.upstream.repo, "motd")).sort()).to.deep.equal(["motd", "motd.G50_web"]);
    expect(readdirSync(cfg(join(s.dir, "repo"), "motd")).sort()).to.deep.equal(["motd", "motd.G50_web"]);
  });

  it("writes the client's owner, group and mode into the same info.xml; the content only vacfg can rebuild", async () => {
    const up = await upstreamAdmin(s.upstream, ["pull", "web1", "Path", `${root}/app.conf`]);
    expect(up.status, up.stdout + up.stderr).to.equal(0);
    const ours = await vacfgPull(s, ["web1", "Path", `${root}/app.conf`]);
    expect(ours.status, ours.stderr).to.equal(0);
    const info = readFileSync(cfg(join(s.dir, "repo"), "app.conf/info.xml"), "utf8");
    expect(info).to.equal(readFileSync(cfg(s.upstream.repo, "app.conf/info.xml"), "utf8"));
    expect(info).to.equal('<FileInfo>\n  <Info owner="1234" group="1234" mode="0640" secontext="__default__" important="false" paranoid="true" sensitive="false"/>\n</FileInfo>\n');
    // Different on purpose: upstream hands the client's unified diff to difflib.restore (which reads
    // ndiff output), gets no line back and writes no content; vacfg rebuilds the file from the diff.
    expect(readFileSync(cfg(s.upstream.repo, "app.conf/app.conf"), "utf8")).to.equal(APP_SERVED);
    expect(readFileSync(cfg(join(s.dir, "repo"), "app.conf/app.conf"), "utf8")).to.equal(APP_ON_CLIENT);
  });

  it("the client's motd goes to the group file it is served from; unchanged permissions write no info.xml (upstream writes owner=\"0\")", async () => {
    const up = await upstreamAdmin(s.upstream, ["pull", "web1", "Path", `${root}/motd`]);
    expect(up.status, up.stdout + up.stderr).to.equal(0);
    const ours = await vacfgPull(s, ["web1", "Path", `${root}/motd`]);
    expect(ours.status, ours.stderr).to.equal(0);
    expect(readFileSync(cfg(join(s.dir, "repo"), "motd/motd.G50_web"), "utf8")).to.equal("motd edited on web1\n");
    expect(readFileSync(cfg(join(s.dir, "repo"), "motd/motd"), "utf8")).to.equal("global motd\n");
    expect(existsSync(cfg(join(s.dir, "repo"), "motd/info.xml"))).to.equal(false);
    expect(readFileSync(cfg(s.upstream.repo, "motd/motd.G50_web"), "utf8")).to.equal("web motd\n");
    expect(readFileSync(cfg(s.upstream.repo, "motd/info.xml"), "utf8")).to.include('<Info owner="0" group="0" mode="0644"');
  });
});
