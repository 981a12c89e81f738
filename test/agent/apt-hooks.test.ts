// apt-get as the agent runs it in a real Debian root (debootstrap bookworm, with apt, debconf and
// no apt-utils): debconf's dpkg-preconfigure hook is left out only where it provably does nothing,
// every other hook still runs, and apt's planner log is written with a cheap xz preset.
import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEBCONF_HOOK, parsePreInstallHooks, preInstallHooksNeeded } from "../../agent/tools/apt-hooks.js";
import { AptTool } from "../../agent/tools/apt.js";
import { chrootArgv } from "../../agent/root.js";
import { resolveCacheDir, stderrProgress } from "../../hypervisor/appliance/cache.js";
import { ensureRootfsTarball } from "../../hypervisor/appliance/rootfs.js";
import { el } from "../../protocol/xml.js";
import { buildAptRepo, removeDir, snapshot, tempDir, torquePackages } from "./fixtures.js";
import { toolContext } from "./tool-context.js";

describe("agent APT tool: apt-get's hooks and logs in a real Debian root", function () {
  this.timeout(600_000);
  let work: string;
  let template: string;
  let root: string;
  before(async () => {
    work = tempDir("vacfg-apt-hooks-");
    template = join(work, "template");
    mkdirSync(template);
    // the cached debootstrap root the appliance tests use (built once per machine)
    execFileSync("tar", ["-xzf", await ensureRootfsTarball(await resolveCacheDir(), {}, stderrProgress), "-C", template, "--numeric-owner"]);
    const repo = buildAptRepo(work, torquePackages());
    cpSync(repo, join(template, "srv/repo"), { recursive: true });
    writeFileSync(join(template, "etc/apt/sources.list"), "deb [trusted=yes] file:/srv/repo ./\n");
    for (const f of readdirSync(join(template, "etc/apt/sources.list.d"))) writeFileSync(join(template, "etc/apt/sources.list.d", f), "");
    execFileSync("chroot", [template, "apt-get", "-q", "update"], { stdio: "pipe" });
  });
  after(() => removeDir(work));
  beforeEach(() => {
    root = join(work, `root-${Math.random().toString(36).slice(2)}`);
    execFileSync("cp", ["-a", template, root]);
  });
  afterEach(() => removeDir(root));

  /** Installs vacfg-hello with the tool, recording the commands it ran; `between` runs after the tool asked ahead. */
  async function install(o: { ahead?: boolean; between?: () => void } = {}): Promise<{ runs: string[][]; lines: string[] }> {
    const runs: string[][] = [];
    const base = toolContext(root, { quick: false });
    const ctx = toolContext(root, { quick: false, exec: (argv, opts) => (runs.push(argv), base.exec(argv, opts)) });
    const tool = new AptTool();
    if (o.ahead) tool.ahead(ctx);
    o.between?.();
    const pkg = el("Package", { name: "vacfg-hello", type: "deb", version: "auto" });
    expect((await tool.install([pkg], ctx)).get(pkg)).to.equal(true);
    return { runs, lines: ctx.lines };
  }
  /** apt-get's own arguments (after the chroot wrapper). */
  const aptGet = (runs: string[][]) => {
    const argv = runs.find((a) => a.includes("apt-get"))!;
    return argv.slice(argv.indexOf("apt-get"));
  };

  it("leaves out debconf's dpkg-preconfigure when apt-utils is absent, where it does nothing (shown by running it)", async () => {
    // what the hook does here, run as apt runs it (the .deb list on stdin): nothing but its warning
    const before = snapshot(join(root, "var"));
    const [sh, ...args] = chrootArgv(root, ["/bin/sh", "-c", DEBCONF_HOOK]);
    const hook = spawnSync(sh!, args, {
      input: "/srv/repo/vacfg-hello_1.0-1_all.deb\n",
      encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    expect(hook.status).to.equal(0);
    expect(hook.stderr).to.match(/delaying package configuration, since apt-utils is not installed/);
    expect(snapshot(join(root, "var"))).to.deep.equal(before);

    expect(await preInstallHooksNeeded({ root, env: process.env, aptConfig: (a) => toolContext(root).exec(new AptTool().aptArgv({ root }, a, "apt-config")) })).to.equal(undefined);
    const { runs } = await install();
    const argv = aptGet(runs);
    const c = argv.indexOf("-c");
    expect(c, "apt-get is given a -c file").to.be.greaterThan(-1);
    expect(argv[c + 1]).to.match(/^\/tmp\/vacfg-apt-\w+\/hooks\.conf$/);
    expect(existsSync(join(root, argv[c + 1]!)), "the -c file is removed after apt-get").to.equal(false);
    expect(execFileSync("chroot", [root, "dpkg-query", "-W", "-f", "${Status}", "vacfg-hello"], { encoding: "utf8" })).to.equal("install ok installed");
    expect(readdirSync(join(root, "tmp")).filter((n) => n.startsWith("vacfg-apt-"))).to.deep.equal([]);
  });

  it("runs every hook when another one is configured (a site's, apt-listbugs, etckeeper)", async () => {
    writeFileSync(join(root, "etc/apt/apt.conf.d/50site-hook"), 'DPkg::Pre-Install-Pkgs {"touch /tmp/site-hook-ran";};\n');
    const { runs, lines } = await install();
    expect(aptGet(runs)).to.not.include("-c");
    expect(existsSync(join(root, "tmp/site-hook-ran")), "the site's hook ran").to.equal(true);
    expect(lines.join("\n")).to.include('hooks run: DPkg::Pre-Install-Pkgs is ["touch /tmp/site-hook-ran","/usr/sbin/dpkg-preconfigure --apt || true"]');
  });

  it("runs debconf's hook when apt-utils is installed, with a debconf variable set, or with a debconf database missing", async () => {
    const tool = new AptTool();
    const check = (env: NodeJS.ProcessEnv = process.env) => preInstallHooksNeeded({ root, env, aptConfig: (a) => toolContext(root).exec(tool.aptArgv({ root }, a, "apt-config")) });
    expect(await check({ ...process.env, DEBCONF_USE_CDEBCONF: "1" })).to.equal("DEBCONF_USE_CDEBCONF is set");
    expect(await check({ ...process.env, PATH: "bin:/usr/bin" })).to.equal("PATH has a relative directory");
    execFileSync("mv", [join(root, "var/cache/debconf/passwords.dat"), join(root, "var/cache/debconf/passwords.moved")]);
    expect(await check()).to.equal("debconf database /var/cache/debconf/passwords.dat is missing");
    execFileSync("mv", [join(root, "var/cache/debconf/passwords.moved"), join(root, "var/cache/debconf/passwords.dat")]);
    writeFileSync(join(root, "usr/bin/apt-extracttemplates"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(root, "usr/bin/apt-extracttemplates"), 0o755);
    expect(await check()).to.equal("apt-utils is installed");
    const { runs } = await install();
    expect(aptGet(runs)).to.not.include("-c");
  });

  it("asks apt's hook list ahead (while the server builds the configuration), and again if apt's configuration changed since", async () => {
    const aptConfigs = (runs: string[][]) => runs.filter((a) => a.includes("apt-config")).length;
    const kept = await install({ ahead: true });
    expect(aptConfigs(kept.runs), "the answer asked ahead is used").to.equal(1);
    expect(aptGet(kept.runs)).to.include("-c");
    execFileSync("chroot", [root, "dpkg", "--purge", "vacfg-hello"]);
    const changed = await install({ ahead: true, between: () => writeFileSync(join(root, "etc/apt/apt.conf.d/50site-hook"), 'DPkg::Pre-Install-Pkgs {"touch /tmp/site-hook-ran";};\n') });
    expect(aptConfigs(changed.runs), "asked again: apt.conf.d changed since").to.equal(2);
    expect(aptGet(changed.runs)).to.not.include("-c");
    expect(existsSync(join(root, "tmp/site-hook-ran"))).to.equal(true);
  });

  it("reads apt's hook list as apt-config prints it (%-escaped values; empty items and deeper keys do not run)", () => {
    expect(
      parsePreInstallHooks(
        'DPkg::Pre-Install-Pkgs\t\nDPkg::Pre-Install-Pkgs::\t/usr/sbin/dpkg-preconfigure%20--apt%20||%20true\nDPkg::Pre-Install-Pkgs::\t\nDPkg::Pre-Install-Pkgs::x::y\tdeeper\ndpkg::pre-install-pkgs::named\t/usr/bin/apt-listbugs%20apt\n',
      ),
    ).to.deep.equal([DEBCONF_HOOK, "/usr/bin/apt-listbugs apt"]);
  });

  it("writes apt's planner log (eipp.log.xz) with xz -1, not the default -6 whose encoder sets up 94 MiB", async () => {
    await install();
    const list = execFileSync("xz", ["--list", "-vv", join(root, "var/log/apt/eipp.log.xz")], { encoding: "utf8" });
    expect(list).to.match(/--lzma2=dict=1MiB/);
  });
});
