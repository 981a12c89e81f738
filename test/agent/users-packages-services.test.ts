// POSIXUsers, APT, Systemd, SysV and Action tools against real files and real programs: shadow's
// own pwck/grpck read what the agent wrote, apt-get/dpkg install into a throwaway root from a local
// repository, systemctl --root enables units offline, and actions run chrooted.
import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withAccountLock } from "../../agent/account-files.js";
import { createLogger } from "../../agent/log.js";
import { defaultOptions } from "../../agent/options.js";
import { runAgent } from "../../agent/run.js";
import { AptTool } from "../../agent/tools/apt.js";
import { PosixUsersTool } from "../../agent/tools/posix-users.js";
import { SystemdTool } from "../../agent/tools/systemd.js";
import { SysvTool } from "../../agent/tools/sysv.js";
import { serializeConfiguration } from "../../protocol/documents/configuration.js";
import { el } from "../../protocol/xml.js";
import { addShell, buildAptRepo, makeBaseRoot, removeDir, tempDir, torquePackages } from "./fixtures.js";
import { readStats } from "./stats.js";
import { RecordingRootSync, toolContext } from "./tool-context.js";

describe("agent POSIXUsers tool", () => {
  let root: string;
  beforeEach(() => {
    root = tempDir("vacfg-users-");
    makeBaseRoot(root);
  });
  afterEach(() => removeDir(root));

  it("adds groups and users that shadow's own pwck and grpck accept, and removes extra ones (-r users) but never system accounts", async () => {
    const tool = new PosixUsersTool();
    const ctx = toolContext(root);
    const entries = [
      el("POSIXGroup", { name: "cluster", gid: "2000" }),
      el("POSIXUser", { name: "alice", uid: "2001", group: "cluster", gecos: "Alice", home: "/home/alice", shell: "/bin/bash" }, [el("MemberOf", {}, [], "users")]),
    ];
    for (const e of entries) expect(await tool.verify(e, ctx)).to.equal(false);
    const states = await tool.install(entries, ctx);
    expect([...states.values()]).to.deep.equal([true, true]);
    const pw = spawnSync("pwck", ["-r", "-q", join(root, "etc/passwd"), join(root, "etc/shadow")], { encoding: "utf8" });
    expect(pw.stdout + pw.stderr).to.not.match(/alice|cluster/);
    const gr = spawnSync("grpck", ["-r", join(root, "etc/group"), join(root, "etc/gshadow")], { encoding: "utf8" });
    // grpck looks members up in the host's passwd (it has no root option for that), so the one
    // complaint allowed is that the host has no alice; anything about the files' shape fails
    const complaints = (gr.stdout + gr.stderr).split("\n").filter((l) => l && !/no user alice|delete member 'alice'|no changes/.test(l));
    expect(complaints).to.deep.equal([]);
    expect(readFileSync(join(root, "etc/group"), "utf8")).to.match(/^users:x:100:alice$/m);
    // a changed gecos is detected and fixed in place
    const changed = el("POSIXUser", { name: "alice", uid: "2001", group: "cluster", gecos: "Alice A.", home: "/home/alice", shell: "/bin/bash" }, [el("MemberOf", {}, [], "users")]);
    const t2 = new PosixUsersTool();
    expect(await t2.verify(changed, ctx)).to.equal(false);
    expect(changed.attrs.current_gecos).to.equal("Alice");
    expect((await t2.install([changed], ctx)).get(changed)).to.equal(true);
    // extras: everything unmanaged is reported; removal spares ids < 1000 and nobody
    const t3 = new PosixUsersTool();
    const extra = await t3.findExtra([entries[0]], ctx);
    expect(extra.map((e) => e.attrs.name)).to.include.members(["root", "alice", "users"]);
    await t3.remove(extra, ctx);
    const passwd = readFileSync(join(root, "etc/passwd"), "utf8");
    expect(passwd).to.not.contain("alice");
    expect(passwd).to.contain("root:x:0:0").and.contain("nobody:");
    expect(readFileSync(join(root, "etc/shadow"), "utf8")).to.not.contain("alice");
    expect(readFileSync(join(root, "etc/group"), "utf8")).to.match(/^users:x:100:$/m).and.match(/^cluster:x:2000:$/m);
  });

  it("leaves /etc's fsync to the run (once, before it reports), not one per account file; adding and removing alike", async () => {
    const tool = new PosixUsersTool();
    const adding = new RecordingRootSync(root);
    const entries = [el("POSIXGroup", { name: "cluster", gid: "2000" }), el("POSIXUser", { name: "alice", uid: "2001", group: "cluster", home: "/home/alice", shell: "/bin/bash" })];
    expect([...(await tool.install(entries, toolContext(root, { rootSync: adding }))).values()]).to.deep.equal([true, true]);
    // in the order that is consistent after a kill at any point, each file synced before its rename
    expect(adding.seen).to.deep.equal(["/etc/gshadow entry", "/etc/group entry", "/etc/shadow entry", "/etc/passwd entry"]);
    expect(await adding.flush()).to.deep.equal([]);
    const removing = new RecordingRootSync(root);
    const ctx = toolContext(root, { rootSync: removing });
    await tool.remove(await new PosixUsersTool().findExtra([], ctx), ctx);
    expect(readFileSync(join(root, "etc/passwd"), "utf8")).to.not.contain("alice");
    expect(removing.seen).to.deep.equal(["/etc/passwd entry", "/etc/shadow entry", "/etc/group entry", "/etc/gshadow entry"]);
    expect(await removing.flush()).to.deep.equal([]);
  });

  it("waits for a passwd.lock held by a live process and breaks one left by a dead process", async () => {
    const sleeper = spawn("sleep", ["30"]);
    try {
      writeFileSync(join(root, "etc/passwd.lock"), String(sleeper.pid));
      expect(() => withAccountLock(root, () => 1, 300)).to.throw(/passwd.lock is held by process/);
      expect(readFileSync(join(root, "etc/passwd.lock"), "utf8")).to.equal(String(sleeper.pid));
    } finally {
      sleeper.kill("SIGKILL");
    }
    await new Promise((r) => sleeper.on("close", r));
    expect(withAccountLock(root, () => existsSync(join(root, "etc/passwd.lock")), 300)).to.equal(true);
    expect(existsSync(join(root, "etc/passwd.lock"))).to.equal(false);
    expect(readdirSync(join(root, "etc")).filter((n) => /\.(lock|\d+)$/.test(n) && n !== ".pwd.lock")).to.deep.equal([]);
  });

  it("removes the FILE.<pid> a killed lock taker left behind, and nothing that is not such a file", async () => {
    const live = spawn("sleep", ["30"]);
    const dead = spawn("true");
    await new Promise((r) => dead.on("close", r));
    const etc = join(root, "etc");
    try {
      writeFileSync(join(etc, `passwd.${dead.pid}`), String(dead.pid)); // killed after the write
      writeFileSync(join(etc, `shadow.${dead.pid}`), ""); // killed between create and write
      writeFileSync(join(etc, `group.${live.pid}`), String(live.pid)); // a live taker's file stays
      writeFileSync(join(etc, `gshadow.${dead.pid}`), "an admin's copy"); // not a lock file: stays
      withAccountLock(root, () => 1, 300);
      const left = readdirSync(etc).filter((n) => /\.\d+$/.test(n)).sort();
      expect(left).to.deep.equal([`group.${live.pid}`, `gshadow.${dead.pid}`].sort());
    } finally {
      live.kill("SIGKILL");
      for (const n of readdirSync(etc)) if (/\.\d+$/.test(n)) rmSync(join(etc, n));
    }
  });
});

describe("agent APT, Systemd and SysV tools (real dpkg/apt into a throwaway root, systemctl --root)", function () {
  let work: string;
  let repo: string;
  let root: string;
  before(() => {
    work = tempDir("vacfg-pkg-");
    repo = buildAptRepo(work, torquePackages());
  });
  after(() => removeDir(work));
  beforeEach(() => {
    root = join(work, `root-${Math.random().toString(36).slice(2)}`);
    makeBaseRoot(root, repo);
  });

  it("installs a package with apt-get, verifies versions and dpkg checksums, reports and removes extras", async () => {
    const apt = new AptTool();
    const ctx = toolContext(root, { quick: false });
    const pkg = el("Package", { name: "vacfg-hello", type: "deb", version: "auto" });
    expect(await apt.verify(pkg, ctx)).to.equal(false);
    expect(pkg.attrs.current_exists).to.equal("false");
    expect((await apt.install([pkg], ctx)).get(pkg)).to.equal(true);
    expect(readFileSync(join(root, "usr/share/vacfg-hello/hello.txt"), "utf8")).to.equal("hello\n");
    expect(await new AptTool().verify(el("Package", { name: "vacfg-hello", type: "deb", version: "1.0-1" }), ctx)).to.equal(true);
    const wrong = el("Package", { name: "vacfg-hello", type: "deb", version: "2.0-1" });
    expect(await new AptTool().verify(wrong, ctx)).to.equal(false);
    expect(wrong.attrs.current_version).to.equal("1.0-1");
    // a file changed behind dpkg's back: found without -q, repaired by reinstalling
    writeFileSync(join(root, "usr/share/vacfg-hello/hello.txt"), "tampered\n");
    const again = el("Package", { name: "vacfg-hello", type: "deb", version: "auto" });
    const apt2 = new AptTool();
    expect(await apt2.verify(again, toolContext(root, { quick: true }))).to.equal(true);
    expect(await apt2.verify(again, ctx)).to.equal(false);
    expect(again.attrs.current_modified_files).to.equal("/usr/share/vacfg-hello/hello.txt");
    expect((await apt2.install([again], ctx)).get(again)).to.equal(true);
    expect(readFileSync(join(root, "usr/share/vacfg-hello/hello.txt"), "utf8")).to.equal("hello\n");
    // unmanaged: reported as extra with its version, removed with -r packages
    const apt3 = new AptTool();
    const extra = await apt3.findExtra([], ctx);
    expect(extra.map((e) => `${e.attrs.name}=${e.attrs.current_version}`)).to.deep.equal(["vacfg-hello=1.0-1"]);
    await apt3.remove(extra, ctx);
    expect(existsSync(join(root, "usr/share/vacfg-hello/hello.txt"))).to.equal(false);
    expect(readFileSync(join(root, "var/lib/dpkg/status"), "utf8")).to.not.match(/Package: vacfg-hello\nStatus: install ok installed/);
  });

  it("enables systemd units offline (in-process, as systemctl --root would) and disables them (systemctl --root), and lists enabled extras", async () => {
    const ctx = toolContext(root);
    await new AptTool().install([el("Package", { name: "torque-server", type: "deb", version: "auto" })], ctx);
    const tool = new SystemdTool();
    const on = el("Service", { name: "pbs_server", type: "systemd", status: "on" });
    expect(await tool.verify(on, ctx)).to.equal(false);
    expect(on.attrs).to.include({ current_status: "off", target_status: "on" });
    expect((await tool.install([on], ctx)).get(on)).to.equal(true);
    expect(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/pbs_server.service"))).to.equal("/lib/systemd/system/pbs_server.service");
    const extra = await tool.findExtra([], ctx);
    expect(extra.map((e) => e.attrs.name)).to.include("pbs_server.service");
    expect((await tool.findExtra([on], ctx)).map((e) => e.attrs.name), "managed: not extra").to.not.include("pbs_server.service");
    // asked at once before an inventory (systemctl stops at an unknown unit): each answer still its own
    const batch = [el("Service", { name: "pbs_server", type: "systemd", status: "on" }), el("Service", { name: "vacfg-nosuch", type: "systemd", status: "on" }), el("Service", { name: "torque-server", type: "systemd", status: "off" })];
    await tool.prepare(batch, ctx);
    expect(await Promise.all(batch.map((e) => tool.verify(e, ctx)))).to.deep.equal([true, false, true]);
    expect(batch[1]!.attrs.current_status).to.equal("off");
    const off = el("Service", { name: "pbs_server", type: "systemd", status: "off" });
    expect(await tool.verify(off, ctx)).to.equal(false);
    expect((await tool.install([off], ctx)).get(off)).to.equal(true);
    expect(existsSync(join(root, "etc/systemd/system/multi-user.target.wants/pbs_server.service"))).to.equal(false);
  });

  it("installs with one apt-get run (dpkg without a pty), and asks apt-cache nothing after it: what apt-get installed is the candidate", async () => {
    const runs: string[][] = [];
    const base = toolContext(root, { quick: false });
    const ctx = toolContext(root, { quick: false, exec: (argv, opts) => (runs.push(argv), base.exec(argv, opts)) });
    const apt = new AptTool();
    const pkgs = ["vacfg-hello", "torque-client"].map((name) => el("Package", { name, type: "deb", version: "auto" }));
    for (const p of pkgs) expect(await apt.verify(p, ctx)).to.equal(false);
    const states = await apt.install(pkgs, ctx);
    expect([...states.values()]).to.deep.equal([true, true]);
    const aptGets = runs.filter((a) => a.includes("apt-get") || a[0] === "apt-get");
    expect(aptGets, "one apt-get run").to.have.length(1);
    expect(aptGets[0]).to.include("Dpkg::Use-Pty=0");
    expect(runs.filter((a) => a.includes("apt-cache")), "what apt-get install installed is the candidate").to.deep.equal([]);
    // the re-inventory of a run asks nothing either, and a changed file is still found by its checksum
    writeFileSync(join(root, "usr/share/vacfg-hello/hello.txt"), "tampered\n");
    expect(await apt.verify(el("Package", { name: "vacfg-hello", type: "deb", version: "auto" }), ctx)).to.equal(false);
    expect(runs.filter((a) => a.includes("apt-cache"))).to.deep.equal([]);
  });

  it("enables plain units in-process, others with one systemctl run; asks is-enabled of a unit with no unit file in a run of its own, beside one run for the others", async () => {
    const runs: string[][] = [];
    const base = toolContext(root);
    const ctx = toolContext(root, { exec: (argv, opts) => (runs.push(argv), base.exec(argv, opts)) });
    await new AptTool().install([el("Package", { name: "torque-server", type: "deb", version: "auto" })], base);
    const tool = new SystemdTool();
    const units = ["pbs_server", "torque-server"].map((name) => el("Service", { name, type: "systemd", status: "on" }));
    const systemctl = () => runs.filter((a) => a[0] === "systemctl").map((a) => a.slice(2).join(" "));
    // the links are absolute inside the root: look at the link, not at where it points on this host
    const wanted = (u: string) => readdirSync(join(root, "etc/systemd/system/multi-user.target.wants")).includes(`${u}.service`);
    expect([...(await tool.install(units, ctx)).values()]).to.deep.equal([true, true]);
    // plain [Install] sections, no manager to reload: the links made here (systemd-enable.test.ts), not asked again
    expect(systemctl()).to.deep.equal([]);
    expect(["pbs_server", "torque-server"].map(wanted)).to.deep.equal([true, true]);
    const real = await base.exec(["systemctl", `--root=${root}`, "is-enabled", "pbs_server", "torque-server"]);
    expect(real.stdout.split("\n").filter(Boolean)).to.deep.equal(["enabled", "enabled"]);
    // one that is not plain (Alias=) goes to systemctl with the others, in one run; enabled without a warning: not asked again
    await tool.install(["pbs_server", "torque-server"].map((name) => el("Service", { name, type: "systemd", status: "off" })), base);
    writeFileSync(join(root, "etc/systemd/system/vacfg-alias.service"), "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nAlias=vacfg-alias2.service\n");
    runs.length = 0;
    const withAlias = ["vacfg-alias", "torque-server"].map((name) => el("Service", { name, type: "systemd", status: "on" }));
    expect([...(await tool.install(withAlias, ctx)).values()]).to.deep.equal([true, true]);
    expect(systemctl()).to.deep.equal(["enable vacfg-alias torque-server"]);
    expect(readlinkSync(join(root, "etc/systemd/system/vacfg-alias2.service"))).to.equal("/etc/systemd/system/vacfg-alias.service");
    expect(["vacfg-alias", "torque-server"].map(wanted)).to.deep.equal([true, true]);
    // one enabled with a warning (no [Install] section) is asked, and is not on ("static")
    writeFileSync(join(root, "etc/systemd/system/vacfg-static.service"), "[Service]\nExecStart=/bin/true\n");
    runs.length = 0;
    const stat = el("Service", { name: "vacfg-static", type: "systemd", status: "on" });
    expect((await tool.install([stat], ctx)).get(stat)).to.equal(false);
    expect(systemctl()).to.deep.equal(["enable vacfg-static", "is-enabled vacfg-static"]);
    expect(stat.attrs).to.include({ current_status: "off", target_status: "on" });
    rmSync(join(root, "etc/systemd/system/vacfg-static.service"));
    runs.length = 0;
    const off = el("Service", { name: "pbs_server", type: "systemd", status: "off" });
    expect((await tool.install([off], ctx)).get(off)).to.equal(true);
    expect(wanted("pbs_server")).to.equal(false);
    // one unknown unit among them fails a joint enable: each is then enabled on its own, and the unknown one is reported
    runs.length = 0;
    const mixed = ["vacfg-nosuch", "pbs_server"].map((name) => el("Service", { name, type: "systemd", status: "on" }));
    expect([...(await tool.install(mixed, ctx)).values()]).to.deep.equal([false, true]);
    expect(systemctl().slice(0, 3)).to.deep.equal(["enable vacfg-nosuch pbs_server", "enable vacfg-nosuch", "enable pbs_server"]);
    expect(ctx.lines.join("\n")).to.match(/enable vacfg-nosuch failed/);
    expect(wanted("pbs_server")).to.equal(true);
    // units with nothing in the root systemctl would look at: answered as systemctl answers, without it;
    // one with only a SysV script is asked about in its own run, beside one run for the others (systemctl stops at an unknown unit)
    writeFileSync(join(root, "etc/init.d/vacfg-sysv"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(root, "etc/init.d/vacfg-sysv"), 0o755);
    runs.length = 0;
    const batch = ["vacfg-nosuch", "vacfg-nosuch2.service", "vacfg-sysv", "torque-server", "pbs_server"].map((name) => el("Service", { name, type: "systemd", status: "on" }));
    await tool.prepare(batch, ctx);
    const lines = ctx.lines.length;
    expect(await Promise.all(batch.map((e) => tool.verify(e, ctx)))).to.deep.equal([false, false, false, true, true]);
    expect(systemctl()).to.deep.equal(["is-enabled torque-server pbs_server", "is-enabled vacfg-sysv"]);
    expect(batch[0]!.attrs).to.include({ current_status: "off", target_status: "on" });
    const nosuch = await base.exec(["systemctl", `--root=${root}`, "is-enabled", "vacfg-nosuch"]);
    expect(nosuch.code).to.equal(1);
    expect(ctx.lines.slice(lines).join("\n")).to.include(`Service vacfg-nosuch: ${nosuch.stderr.trim()}`).and.include("Service vacfg-nosuch2.service: Failed to get unit file state for vacfg-nosuch2.service: No such file or directory");
    // a unit in another of systemd's unit directories (a generator's) is asked about
    mkdirSync(join(root, "run/systemd/generator"), { recursive: true });
    writeFileSync(join(root, "run/systemd/generator/vacfg-nosuch.service"), "[Service]\nExecStart=/bin/true\n");
    runs.length = 0;
    await tool.prepare(batch.slice(0, 1), ctx);
    expect(systemctl()).to.deep.equal(["is-enabled vacfg-nosuch"]);
    rmSync(join(root, "run/systemd/generator"), { recursive: true });
    rmSync(join(root, "etc/init.d/vacfg-sysv"));
    // a unit file systemctl cannot load (a dangling link to a template) is still its answer: the run for the rest goes on after it
    symlinkSync("/lib/systemd/system/vacfg-gone@.service", join(root, "etc/systemd/system/vacfg-dangling.service"));
    runs.length = 0;
    const odd = ["vacfg-dangling", "pbs_server"].map((name) => el("Service", { name, type: "systemd", status: "on" }));
    await tool.prepare(odd, ctx);
    expect(await Promise.all(odd.map((e) => tool.verify(e, ctx)))).to.deep.equal([false, true]);
    expect(systemctl()[0]).to.equal("is-enabled vacfg-dangling pbs_server");
  });

  describe("a whole run (cached configuration, -f): what is verified again after the installs", () => {
    let shim: string;
    let path: string | undefined;
    before(() => {
      // systemctl as found on PATH, recording each run's arguments before it runs the real one
      shim = join(work, "shim");
      mkdirSync(shim, { recursive: true });
      writeFileSync(join(shim, "systemctl"), `#!/bin/sh\necho "$*" >> ${join(work, "systemctl.log")}\nexec /usr/bin/systemctl "$@"\n`);
      chmodSync(join(shim, "systemctl"), 0o755);
      path = process.env.PATH;
      process.env.PATH = `${shim}:${path}`;
    });
    after(() => {
      process.env.PATH = path;
    });
    const run = async (entries: ReturnType<typeof el>[]) => {
      rmSync(join(work, "systemctl.log"), { force: true });
      addShell(root);
      const cfg = join(work, "cfg.xml");
      writeFileSync(cfg, serializeConfiguration({ version: "2.0", revision: "7", bundles: [{ name: "server", attrs: {}, entries }], independent: [] }));
      const stats = join(work, "stats.xml");
      const o = { ...defaultOptions(), file: cfg, root, statsFile: stats, configFile: "/nonexistent" };
      const r = await runAgent(o, createLogger("error", "test", { out: () => undefined, err: () => undefined }));
      const log = existsSync(join(work, "systemctl.log")) ? readFileSync(join(work, "systemctl.log"), "utf8").trim() : "";
      const calls = log ? log.split("\n").map((l) => l.replace(/^--root=\S+ /, "")) : [];
      return { r, s: readStats(stats), calls };
    };
    const entries = () => [
      el("Package", { name: "torque-server", type: "deb", version: "auto" }),
      el("Service", { name: "pbs_server", type: "systemd", status: "on" }),
      el("Path", { name: "/srv/motd", type: "file", owner: "root", group: "root", mode: "0644" }, [], "hello\n"),
    ];

    it("a unit enabled and verified by its own install, with nothing installed after it, is not asked about again", async () => {
      const { r, s, calls } = await run(entries());
      expect(r.exitCode).to.equal(0);
      expect(s.bad).to.deep.equal([]);
      expect(s.goodEntries.map((e) => e.attrs.name).sort()).to.deep.equal(["/srv/motd", "pbs_server", "torque-server"]);
      // no systemctl at all: the inventory needs none (the unit has no file before the package), the
      // plain enable is made in-process, and neither the clobber inventory nor the final one checks again
      expect(calls).to.deep.equal([]);
      expect(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/pbs_server.service"))).to.equal("/lib/systemd/system/pbs_server.service");
    });

    it("after a post action ran a command, every entry is verified again: a file it changed is reported bad", async () => {
      const { s, calls } = await run([...entries(), el("Action", { name: "tamper", timing: "post", when: "modified", status: "check", command: "echo tampered > /srv/motd" })]);
      expect(readFileSync(join(root, "srv/motd"), "utf8")).to.equal("tampered\n");
      expect(s.bad.map((e) => e.attrs.name)).to.deep.equal(["/srv/motd"]);
      expect(calls.filter((c) => c.startsWith("is-enabled")), "checked again in the final inventory").to.deep.equal(["is-enabled pbs_server"]);
    });
  });

  it("manages SysV rc links under the root like update-rc.d", async () => {
    writeFileSync(join(root, "etc/init.d/torqued"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(root, "etc/init.d/torqued"), 0o755);
    const tool = new SysvTool();
    const ctx = toolContext(root);
    const on = el("Service", { name: "torqued", type: "deb", status: "on" });
    expect(await tool.verify(on, ctx)).to.equal(false);
    expect((await tool.install([on], ctx)).get(on)).to.equal(true);
    expect(readlinkSync(join(root, "etc/rc2.d/S01torqued"))).to.equal("../init.d/torqued");
    expect(readlinkSync(join(root, "etc/rc0.d/K01torqued"))).to.equal("../init.d/torqued");
    const off = el("Service", { name: "torqued", type: "deb", status: "off" });
    expect((await tool.install([off], ctx)).get(off)).to.equal(true);
    expect(existsSync(join(root, "etc/rc2.d/S01torqued"))).to.equal(false);
    expect(readlinkSync(join(root, "etc/rc2.d/K01torqued"))).to.equal("../init.d/torqued");
  });
});

describe("agent run sequence with actions (cached configuration, -f)", () => {
  let root: string;
  let work: string;
  beforeEach(() => {
    work = tempDir("vacfg-actions-");
    root = join(work, "root");
    makeBaseRoot(root);
    addShell(root);
  });
  afterEach(() => removeDir(work));

  const run = async (bundles: Array<{ name: string; entries: ReturnType<typeof el>[] }>, over: Partial<ReturnType<typeof defaultOptions>> = {}) => {
    const cfg = join(work, "cfg.xml");
    writeFileSync(cfg, serializeConfiguration({ version: "2.0", revision: "7", bundles: bundles.map((b) => ({ ...b, attrs: {} })), independent: [] }));
    const stats = join(work, "stats.xml");
    const o = { ...defaultOptions(), file: cfg, root, statsFile: stats, configFile: "/nonexistent", ...over };
    const r = await runAgent(o, createLogger("error", "test", { out: () => undefined, err: () => undefined }));
    return { r, s: readStats(stats) };
  };
  const f = (name: string) => el("Path", { name, type: "file", owner: "root", group: "root", mode: "0644" }, [], "x\n");

  it("a failing pre action (status check) keeps its bundle from being installed; status ignore does not", async () => {
    const { s } = await run([
      { name: "guarded", entries: [el("Action", { name: "gate", timing: "pre", when: "modified", status: "check", command: "exit 3" }), f("/srv/guarded")] },
      { name: "lenient", entries: [el("Action", { name: "gate2", timing: "pre", when: "modified", status: "ignore", command: "exit 3" }), f("/srv/lenient")] },
    ]);
    expect(existsSync(join(root, "srv/guarded"))).to.equal(false);
    expect(readFileSync(join(root, "srv/lenient"), "utf8")).to.equal("x\n");
    expect(s.bad.map((e) => e.attrs.name).sort()).to.deep.equal(["/srv/guarded", "gate"]);
    expect(s.bad.find((e) => e.attrs.name === "gate")!.attrs.rc).to.equal("3");
  });

  it("post actions run chrooted: when=modified only after a change, when=always on every run; -n runs none", async () => {
    const bundle = {
      name: "b",
      entries: [
        el("Action", { name: "on-change", timing: "post", when: "modified", status: "check", command: "echo changed >> /log" }),
        el("Action", { name: "every-run", timing: "post", when: "always", status: "check", command: "echo always >> /log" }),
        f("/srv/file"),
      ],
    };
    await run([bundle]);
    expect(readFileSync(join(root, "log"), "utf8").split("\n").sort().join(" ").trim()).to.equal("always changed");
    await run([bundle]);
    expect(readFileSync(join(root, "log"), "utf8").match(/always/g)).to.have.length(2);
    expect(readFileSync(join(root, "log"), "utf8").match(/changed/g)).to.have.length(1);
    const { s } = await run([bundle], { dryRun: true });
    expect(readFileSync(join(root, "log"), "utf8").match(/always/g)).to.have.length(2);
    expect(s.flags.dry_run).to.equal("True");
  });

  it("-b installs only the entries of the named bundles", async () => {
    await run([{ name: "one", entries: [f("/srv/one")] }, { name: "two", entries: [f("/srv/two")] }], { bundles: ["two"] });
    expect([existsSync(join(root, "srv/one")), existsSync(join(root, "srv/two"))]).to.deep.equal([false, true]);
  });
});
