// apt-get as the agent runs it in a real Debian root (debootstrap bookworm, with apt, debconf and
// no apt-utils): debconf's dpkg-preconfigure hook is left out only where it provably does nothing,
// every other hook still runs, and apt's planner log is written with a cheap xz preset. apt-get
// begun while the files and users before it are installed is held before dpkg until they are.
import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Execution } from "../../agent/execution.js";
import { defaultOptions } from "../../agent/options.js";
import { aptReads, changesAptReads, GATE_HOOK, readHostPaths } from "../../agent/tools/apt-early.js";
import { DEBCONF_HOOK, HOOKS_DUMP, parsePreInstallHooks, preInstallHooksNeeded } from "../../agent/tools/apt-hooks.js";
import { AptTool } from "../../agent/tools/apt.js";
import { PosixTool } from "../../agent/tools/posix.js";
import { PosixUsersTool } from "../../agent/tools/posix-users.js";
import type { States, ToolContext } from "../../agent/tools/tool.js";
import { chrootArgv } from "../../agent/root.js";
import { resolveCacheDir, stderrProgress } from "../../hypervisor/appliance/cache.js";
import { ensureRootfsTarball } from "../../hypervisor/appliance/rootfs.js";
import { el, type XmlElement } from "../../protocol/xml.js";
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
    // vacfg-gated's preinst, the first thing dpkg runs of it, fails unless the run's file and user are there
    const gated = { name: "vacfg-gated", version: "1.0-1", files: { "usr/share/vacfg-gated/x": "x\n", "DEBIAN/preinst": ["#!/bin/sh\nset -e\ntest -f /etc/vacfg-gated.conf\ngrep -q '^gated:' /etc/passwd\necho saw >> /var/tmp/vacfg-gated-preinst\n", 0o755] as [string, number] } };
    const repo = buildAptRepo(work, [...torquePackages(), gated]);
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
    expect(argv[c + 1]).to.match(/^\/tmp\/vacfg-apt-\w+\/apt\.conf$/);
    expect(existsSync(join(root, argv[c + 1]!)), "the -c file is removed after apt-get").to.equal(false);
    expect(execFileSync("chroot", [root, "dpkg-query", "-W", "-f", "${Status}", "vacfg-hello"], { encoding: "utf8" })).to.equal("install ok installed");
    expect(readdirSync(join(root, "tmp")).filter((n) => n.startsWith("vacfg-apt-"))).to.deep.equal([]);
  });

  it("tells apt-get the architectures apt-config found (foreign ones too, in apt's order), so it asks dpkg for none", async () => {
    // dpkg in the root, recording each run's arguments
    execFileSync("mv", [join(root, "usr/bin/dpkg"), join(root, "usr/bin/dpkg.real")]);
    writeFileSync(join(root, "usr/bin/dpkg"), '#!/bin/sh\necho "$*" >> /var/tmp/dpkg-runs\nexec /usr/bin/dpkg.real "$@"\n');
    chmodSync(join(root, "usr/bin/dpkg"), 0o755);
    const asked = () => readFileSync(join(root, "var/tmp/dpkg-runs"), "utf8").split("\n").filter((l) => l.includes("--print-foreign-architectures")).length;
    const given: string[] = [];
    const base = toolContext(root);
    const ctx = {
      ...base,
      exec: (argv: string[], opts?: Parameters<ToolContext["exec"]>[1]) => {
        const c = argv.lastIndexOf("-c"); // apt-get's (after the chroot wrapper's sh -c)
        if (argv.includes("apt-get") && c > argv.indexOf("apt-get")) given.push(readFileSync(join(root, argv[c + 1]!), "utf8"));
        return base.exec(argv, opts);
      },
    };
    const pkg = el("Package", { name: "vacfg-hello", type: "deb", version: "auto" });
    expect((await new AptTool().install([pkg], ctx)).get(pkg)).to.equal(true);
    expect(asked(), "once, by apt-config").to.equal(1);
    expect(given[0]).to.include('APT::Architectures { "amd64"; };');
    execFileSync("chroot", [root, "dpkg", "--purge", "vacfg-hello"]);
    execFileSync("chroot", [root, "dpkg", "--add-architecture", "i386"]);
    writeFileSync(join(root, "var/tmp/dpkg-runs"), "");
    expect((await new AptTool().install([pkg], ctx)).get(pkg)).to.equal(true);
    expect(asked(), "once, by apt-config").to.equal(1);
    expect(given[1]).to.include('APT::Architectures { "amd64"; "i386"; };');
    // apt works them out as it would without them
    writeFileSync(join(root, "tmp/given.conf"), given[1]!);
    const archs = (...c: string[]) => execFileSync("chroot", [root, "apt-config", ...c, "dump", "APT::Architectures"], { encoding: "utf8" });
    expect(archs("-c", "/tmp/given.conf")).to.equal(archs());
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

  it("asks apt's hook list ahead (while the run talks to the server), and again if apt's configuration changed since", async () => {
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

  describe("apt-get begun while the entries before it are installed (Tool.begin)", () => {
    /**
     * A run's execution (Execution: inventory, install, re-inventory) with the users, files and APT
     * tools; `during` runs inside the files tool's install before it writes, `verifying` in its first verify.
     */
    async function run(entries: XmlElement[], during: (events: string[]) => Promise<void> = async () => {}, verifying: (events: string[]) => Promise<void> = async () => {}, bundles: string[] = []) {
      const events: string[] = [];
      const base = toolContext(root, { quick: false });
      const ctx: ToolContext & { lines: string[] } = {
        ...base,
        exec: (argv, opts) => {
          if (argv.includes("apt-get") && argv.includes("install")) events.push("apt-get install started");
          return base.exec(argv, opts);
        },
      };
      let verified = false;
      class Files extends PosixTool {
        override async verify(e: XmlElement, c: ToolContext): Promise<boolean> {
          if (!verified) {
            verified = true;
            await verifying(events);
            events.push("files verified");
          }
          return super.verify(e, c);
        }
        override async install(e: XmlElement[], c: ToolContext): Promise<States> {
          await during(events);
          const states = await super.install(e, c);
          events.push("files installed");
          return states;
        }
      }
      const config = { version: "2.0", revision: "1", bundles: [{ name: "gated", attrs: {}, entries }], independent: [] };
      const exec = new Execution(config, [new PosixUsersTool(), new Files(), new AptTool()], ctx, { ...defaultOptions(), root, bundles }, [], ctx.log);
      /** What had happened when the execution said its last steps began, and when it said it only reads from then on. */
      const at: { lastSteps?: string[]; readsOnly?: string[] } = {};
      await exec.execute({}, { lastSteps: () => (at.lastSteps = [...events]), readsOnly: () => (at.readsOnly = [...events]) });
      const bad = [...exec.states].filter(([, ok]) => !ok).map(([e]) => `${e.tag}:${e.attrs.name}`);
      return { events, bad, lines: ctx.lines, at };
    }
    const entries = (...more: XmlElement[]) => [
      el("POSIXGroup", { name: "gated", gid: "2100" }),
      el("POSIXUser", { name: "gated", uid: "2100", group: "gated", gecos: "", home: "/nonexistent", shell: "/usr/sbin/nologin" }),
      el("Path", { name: "/etc/vacfg-gated.conf", type: "file", owner: "root", group: "root", mode: "0644" }, [], "gated\n"),
      el("Package", { name: "vacfg-gated", type: "deb", version: "auto" }),
      ...more,
    ];
    /** Waits until apt-get's hook is waiting on the agent's pipe: apt-get has resolved and fetched, and not run dpkg. */
    const gateWaiting = async (events: string[]) => {
      for (let i = 0; i < 3000; i++) {
        const waiting = readdirSync("/proc").some((pid) => /^\d+$/.test(pid) && (() => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(GATE_HOOK);
          } catch {
            return false;
          }
        })());
        if (waiting) return void events.push("apt-get waits before dpkg");
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const preinstRuns = () => readFileSync(join(root, "var/tmp/vacfg-gated-preinst"), "utf8").split("\n").filter(Boolean).length;

    it("starts apt-get before the files and users are installed, and dpkg waits for them: the package's preinst sees both", async () => {
      // -b: not begun before the inventory (bundle selection), begun by the install step
      const { events, bad, at } = await run(entries(), gateWaiting, async () => {}, ["gated"]);
      expect(events).to.deep.equal(["files verified", "apt-get install started", "apt-get waits before dpkg", "files installed"]);
      expect(bad).to.deep.equal([]);
      // the last tool's install (APT's, the held apt-get told to go on) is the run's last step; then it only reads
      expect(at.lastSteps).to.deep.equal(events);
      expect(at.readsOnly).to.deep.equal(events);
      expect(preinstRuns()).to.equal(1);
      expect(execFileSync("chroot", [root, "dpkg-query", "-W", "-f", "${Status}", "vacfg-gated"], { encoding: "utf8" })).to.equal("install ok installed");
    });

    it("begins it before the inventory for the packages not installed at all: it waits before dpkg while the inventory runs", async () => {
      const { events, bad } = await run(entries(), async () => {}, gateWaiting);
      expect(events).to.deep.equal(["apt-get install started", "apt-get waits before dpkg", "files verified", "files installed"]);
      expect(bad).to.deep.equal([]);
      expect(preinstRuns()).to.equal(1);
    });

    it("stops the one begun before the inventory when the install step asks for other packages (one to reinstall), and installs them all", async () => {
      execFileSync("chroot", [root, "apt-get", "-q", "-y", "install", "vacfg-hello"], { stdio: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
      writeFileSync(join(root, "usr/share/vacfg-hello/hello.txt"), "changed\n");
      const { events, bad, lines } = await run(entries(el("Package", { name: "vacfg-hello", type: "deb", version: "auto" })), async () => {}, async () => {});
      expect(bad).to.deep.equal([]);
      // the second begins while the files are installed (the install step's own begin)
      expect(events).to.deep.equal(["apt-get install started", "files verified", "apt-get install started", "files installed"]);
      expect(lines.join("\n")).to.include("APT: the install begun before the inventory is not the one to make: stopped");
      expect(readFileSync(join(root, "usr/share/vacfg-hello/hello.txt"), "utf8")).to.equal("hello\n");
      expect(preinstRuns(), "dpkg ran for the second apt-get only").to.equal(1);
    });

    it("stops it before dpkg and runs it again when apt's configuration changed meanwhile", async () => {
      const { events, bad } = await run(entries(), async (ev) => {
        await gateWaiting(ev);
        writeFileSync(join(root, "etc/apt/apt.conf.d/60late"), 'DPkg::Post-Invoke {"touch /var/tmp/late-conf-read";};\n');
      });
      expect(events).to.deep.equal(["apt-get install started", "files verified", "apt-get waits before dpkg", "files installed", "apt-get install started"]);
      expect(bad).to.deep.equal([]);
      expect(preinstRuns(), "dpkg ran once, for the second apt-get").to.equal(1);
      expect(existsSync(join(root, "var/tmp/late-conf-read")), "the second apt-get read the new configuration").to.equal(true);
    });

    it("starts it after the files when one of them is something apt reads", async () => {
      const sources = await run(entries(el("Path", { name: "/etc/apt/sources.list.d/extra.list", type: "file", owner: "root", group: "root", mode: "0644" }, [], "# none\n")));
      expect(sources.events).to.deep.equal(["files verified", "files installed", "apt-get install started"]);
      expect(sources.bad).to.deep.equal([]);
      expect(sources.lines.join("\n")).to.include("apt-get starts after the entries before it: Path:/etc/apt/sources.list.d/extra.list: apt-get reads /etc/apt before dpkg");    });

    it("starts it after the files when a site's DPkg::Pre-Invoke hook (etckeeper's commit of /etc) would run before them", async () => {
      writeFileSync(join(root, "etc/apt/apt.conf.d/50etckeeper"), 'DPkg::Pre-Invoke {"touch /var/tmp/site-pre-invoke";};\n');
      const site = await run(entries());
      expect(site.events).to.deep.equal(["files verified", "files installed", "apt-get install started"]);
      expect(site.bad).to.deep.equal([]);
      expect(existsSync(join(root, "var/tmp/site-pre-invoke"))).to.equal(true);
    });

    it("goes by what it found ahead until apt-get may run dpkg: apt's sources changed since stop it there, and it runs again with them", async () => {
      const ctx = toolContext(root);
      const tool = new AptTool();
      tool.ahead(ctx);
      await (tool as unknown as { readsAhead: Promise<unknown> }).readsAhead; // found while the run talked to the server
      // then a second local archive, whose lists apt has not fetched, joins the sources
      cpSync(join(root, "srv/repo"), join(root, "srv/repo2"), { recursive: true });
      writeFileSync(join(root, "etc/apt/sources.list.d/second.list"), "deb [trusted=yes] file:/srv/repo2 ./\n");
      const pkg = el("Package", { name: "vacfg-hello", type: "deb", version: "auto" });
      // begun on what was found ahead, without looking again
      const staged = await tool.begin([pkg], [el("Path", { name: "/srv/repo2/extra", type: "file" })], ctx);
      expect(staged, "begun as found ahead").to.not.equal(undefined);
      expect((await staged!.finish()).get(pkg)).to.equal(true);
      const log = ctx.lines.join("\n");
      expect(log).to.include("APT: apt's configuration changed while apt-get waited before dpkg: it stopped there; run again");
      expect(log).to.include("APT: apt-get update: file:/srv/repo2 ./: no package list yet");
      // a later begin looks again: the new archive is something apt-get reads
      execFileSync("chroot", [root, "dpkg", "--purge", "vacfg-hello"]);
      expect(await tool.begin([pkg], [el("Path", { name: "/srv/repo2/extra", type: "file" })], ctx)).to.equal(undefined);
    });

    it("reads dpkg's status while the run talks to the server, and again if it changed before its first use", async () => {
      execFileSync("chroot", [root, "apt-get", "-q", "-y", "install", "vacfg-hello"], { stdio: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
      const ctx = toolContext(root);
      const pkgs = ["vacfg-hello", "vacfg-gated"].map((name) => el("Package", { name, type: "deb", version: "auto" }));
      const missing = async (change?: () => void) => {
        const tool = new AptTool();
        tool.ahead(ctx);
        await (tool as unknown as { readsAhead: Promise<unknown> }).readsAhead;
        change?.();
        return tool.knownBad(pkgs, ctx).map((e) => e.attrs.name);
      };
      expect(await missing()).to.deep.equal(["vacfg-gated"]);
      expect(await missing(() => execFileSync("chroot", [root, "dpkg", "--purge", "vacfg-hello"]))).to.deep.equal(["vacfg-hello", "vacfg-gated"]);
    });

    it("lets apt-get run dpkg after an apt-get update of its own (lists found stale ahead): no stop and second apt-get", async () => {
      // the archive's list is gone: apt-get update fetches it again
      for (const f of readdirSync(join(root, "var/lib/apt/lists")).filter((n) => n.endsWith("_Packages"))) removeDir(join(root, "var/lib/apt/lists", f));
      const runs: string[][] = [];
      const base = toolContext(root);
      const ctx = { ...base, exec: (argv: string[], opts?: Parameters<ToolContext["exec"]>[1]) => (runs.push(argv), base.exec(argv, opts)) };
      const tool = new AptTool();
      tool.ahead(ctx);
      const pkg = el("Package", { name: "vacfg-hello", type: "deb", version: "auto" });
      const staged = await tool.begin([pkg], [el("Path", { name: "/etc/motd", type: "file" })], ctx);
      expect(staged).to.not.equal(undefined);
      expect((await staged!.finish()).get(pkg)).to.equal(true);
      expect(base.lines.join("\n")).to.include("APT: apt-get update: file:/srv/repo ./: no package list yet");
      expect(base.lines.join("\n")).to.not.include("changed while apt-get waited");
      expect(runs.filter((a) => a.includes("apt-get") && a.includes("install")).length, "one apt-get install").to.equal(1);
    });

    it("knows what apt-get reads before dpkg: its directories, file: archives, through symbolic links; name resolution only for a network archive; _apt", async () => {
      const dump = execFileSync("chroot", [root, "apt-config", ...HOOKS_DUMP], { encoding: "utf8" });
      const { paths, network } = await aptReads(root, dump);
      expect(network).to.equal(false);
      const path = (name: string, type = "file") => el("Path", { name, type });
      mkdirSync(join(root, "srv/links"), { recursive: true });
      symlinkSync("/etc/apt/apt.conf.d", join(root, "srv/links/aptconf"));
      const reads = readHostPaths(root, paths);
      expect(changesAptReads(root, [path("/etc/motd"), path("/etc/hosts"), path("/srv/other")], reads)).to.equal(undefined);
      expect(changesAptReads(root, [path("/srv/links/aptconf/99x")], reads)).to.equal("Path:/srv/links/aptconf/99x: apt-get reads /etc/apt before dpkg");
      expect(changesAptReads(root, [path("/srv/repo/Packages")], reads)).to.equal("Path:/srv/repo/Packages: apt-get reads /srv/repo before dpkg");
      expect(changesAptReads(root, [path("/var", "directory")], reads)).to.match(/^Path:\/var: apt-get reads \/var\/\S+ before dpkg$/);
      expect(changesAptReads(root, [el("POSIXUser", { name: "_apt" })], reads)).to.equal("POSIXUser:_apt: apt-get runs its downloads as _apt");
      writeFileSync(join(root, "etc/apt/sources.list.d/net.list"), "deb http://deb.example.org/debian bookworm main\n");
      expect(changesAptReads(root, [path("/etc/hosts")], readHostPaths(root, (await aptReads(root, dump)).paths))).to.equal("Path:/etc/hosts: apt-get reads /etc/hosts before dpkg");
    });
  });
});
