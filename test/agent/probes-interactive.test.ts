// Probes run with their interpreter and a timeout, failures reported; -I asks before each change.
import { expect } from "chai";
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { pino } from "pino";
import { execCommand } from "../../agent/exec.js";
import { createLogger } from "../../agent/log.js";
import { defaultOptions } from "../../agent/options.js";
import { agentRunLockBase } from "../../agent/pid-lock.js";
import { ProbeScratch, runProbe, type ProbeOutcome } from "../../agent/probes.js";
import { defaultTools, runAgent, type LocalServerOpener } from "../../agent/run.js";
import { AptTool } from "../../agent/tools/apt.js";
import { openLocalServer } from "../../server/admin/local-server.js";
import { serializeConfiguration } from "../../protocol/documents/configuration.js";
import { el } from "../../protocol/xml.js";
import { XmlRpcFault } from "../../protocol/errors.js";
import { exampleRepo } from "../support/paths.js";
import { addShell, makeBaseRoot, removeDir, runAgentProcess, tempDir } from "./fixtures.js";

const quiet = createLogger("error", "test", { out: () => undefined, err: () => undefined });

describe("agent probes", () => {
  it("runs a probe with its interpreter and captures stdout", async () => {
    const r = await runProbe({ name: "py", source: "Probes", interpreter: "/usr/bin/python3", script: "import sys\nprint('group:python')\nprint(6*7)\n" }, 10_000, quiet);
    expect(r.failure).to.equal(undefined);
    expect(r.item).to.deep.equal({ name: "py", source: "Probes", output: "group:python\n42\n" });
  });

  it("reports a failing probe with its exit code, and kills one that outlives its timeout", async () => {
    const failing = await runProbe({ name: "bad", source: "Probes", interpreter: "/bin/sh", script: "echo partial\nexit 4\n" }, 10_000, quiet);
    expect(failing.failure).to.equal("Return value 4");
    expect(failing.item.output).to.equal("partial\n");
    // A probe that would never end by itself: runProbe returns only if it kills it.
    const slow = await runProbe({ name: "slow", source: "Probes", interpreter: "/bin/sh", script: "echo $$\nexec sleep 100000\n" }, 300, quiet);
    expect(slow.failure).to.match(/timed out/);
    const pid = Number(slow.item.output.trim());
    expect(() => process.kill(pid, 0), `probe process ${pid} still alive`).to.throw(/ESRCH/);
  });
});

describe("agent probes under --root", () => {
  it("leave the root's /tmp times as they were, to the nanosecond, whether or not the probe lists /tmp", async () => {
    if (process.getuid?.() !== 0) throw new Error("needs root: the probe runs chrooted in the root (CI runs as root)");
    const work = tempDir("vacfg-probe-times-");
    try {
      const root = join(work, "root");
      makeBaseRoot(root);
      addShell(root);
      const tmp = join(root, "tmp");
      for (const script of ["echo quiet\n", "ls /tmp >/dev/null\necho listed\n"]) {
        // an access time older than the modification time: listing /tmp (relatime) moves it
        expect((await execCommand(["touch", "-m", "-d", "@1600000000.123456789", tmp])).code).to.equal(0);
        expect((await execCommand(["touch", "-a", "-d", "@1500000000.987654321", tmp])).code).to.equal(0);
        const before = statSync(tmp, { bigint: true });
        const r = await runProbe({ name: "t", source: "Probes", interpreter: "/bin/sh", script }, 10_000, quiet, root);
        expect(r.failure).to.equal(undefined);
        const after = statSync(tmp, { bigint: true });
        expect([after.atimeNs, after.mtimeNs], script).to.deep.equal([before.atimeNs, before.mtimeNs]);
        expect(readdirSync(tmp)).to.deep.equal([]);
      }
    } finally {
      removeDir(work);
    }
  });
});

describe("agent probes of one run", () => {
  it("run side by side and are reported in the server's order, each with its own lines: the first waits for what the second does", async () => {
    const work = tempDir("vacfg-probes-");
    try {
      const mark = join(work, "second-ran");
      // the first ends only once the second has run (or fails after 30 s, as it would one after the other)
      const first = { name: "first", source: "Probes", interpreter: "/bin/sh", script: `i=0\nwhile [ ! -e ${mark} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\ntest -e ${mark} && echo waited\n` };
      const second = { name: "second", source: "Probes", interpreter: "/bin/sh", script: `touch ${mark}\necho ran\necho note >&2\n` };
      const lines: string[] = [];
      const log = createLogger("info", "test", { out: (l) => lines.push(l), err: (l) => lines.push(l) });
      const seen: [string, ProbeOutcome][] = [];
      const scratch = ProbeScratch.open();
      try {
        await scratch.runAll([first, second], 60_000, log, (probe, outcome) => void seen.push([probe.name, outcome]));
      } finally {
        await scratch.close();
      }
      expect(seen.map(([n, o]) => [n, o.failure, o.item.output])).to.deep.equal([
        ["first", undefined, "waited\n"],
        ["second", undefined, "ran\n"],
      ]);
      expect(lines).to.deep.equal(["Running probe first", "Probe first has result:\nwaited\n", "Running probe second", "test: warn: Probe second has error output: note", "Probe second has result:\nran\n"]);
    } finally {
      removeDir(work);
    }
  });

  it("a failure that ends the run stops the reporting there, after every probe has ended", async () => {
    const work = tempDir("vacfg-probes-");
    try {
      const bad = { name: "bad", source: "Probes", interpreter: "/bin/sh", script: "exit 3\n" };
      const late = { name: "late", source: "Probes", interpreter: "/bin/sh", script: `sleep 0.2\ntouch ${join(work, "late-ended")}\n` };
      const seen: string[] = [];
      const scratch = ProbeScratch.open();
      let thrown: unknown;
      try {
        await scratch.runAll([bad, late], 60_000, quiet, (probe, outcome) => {
          seen.push(probe.name);
          if (outcome.failure) throw new Error(`fatal: ${outcome.failure}`);
        });
      } catch (e) {
        thrown = e;
      } finally {
        await scratch.close();
      }
      expect((thrown as Error).message).to.equal("fatal: Return value 3");
      expect(seen).to.deep.equal(["bad"]);
      expect(existsSync(join(work, "late-ended")), "the other probe ended before runAll returned").to.equal(true);
    } finally {
      removeDir(work);
    }
  });
});

/** The server core in process (--local, silent), telling `onCall` of each call as it is made. */
const localServer =
  (onCall: (method: string) => void): LocalServerOpener =>
  async (o) => {
    const server = await openLocalServer({ repo: o.local, client: o.user, logger: pino({ level: "silent" }) });
    return { call: (method, ...params) => (onCall(method), server.call(method, ...params)), close: () => server.close() };
  };

/** A dry run's options against the example repository with one probe added, in a fresh root with a shell (the probe runs chrooted there). */
function probedRun(work: string) {
  if (process.getuid?.() !== 0) throw new Error("needs root: the probe runs chrooted in the root (CI runs as root)");
  const repo = join(work, "repo");
  cpSync(exampleRepo, repo, { recursive: true });
  writeFileSync(join(repo, "Probes/probed"), "#!/bin/sh\necho group:probed\n");
  const root = join(work, "root");
  makeBaseRoot(root);
  addShell(root);
  return { ...defaultOptions(), local: repo, user: "node1", profile: "torque-worker", root, dryRun: true, configFile: "/nonexistent" };
}

describe("agent probes of one run, with the server", function () {
  this.timeout(120_000);
  it("sends the probe data before the probes' scratch directory is removed and /tmp's times are put back", async () => {
    const work = tempDir("vacfg-probe-data-");
    try {
      const o = probedRun(work);
      const scratchThere: boolean[] = [];
      // RecvProbeData looks at the root's /tmp when it is called
      const opener = localServer((method) => {
        if (method === "RecvProbeData") scratchThere.push(readdirSync(join(o.root, "tmp")).some((n) => n.startsWith("vacfg-probe-")));
      });
      const r = await runAgent(o, createLogger("error", "test", { out: () => undefined, err: () => undefined }), defaultTools(), opener);
      expect(r.exitCode).to.equal(0);
      expect(scratchThere, "the scratch directory was still there when the data was sent").to.deep.equal([true]);
      expect(readdirSync(join(o.root, "tmp")).filter((n) => n.startsWith("vacfg-probe-")), "and is gone after the run").to.deep.equal([]);
    } finally {
      removeDir(work);
    }
  });
});

describe("agent run order", function () {
  this.timeout(120_000);
  /** The in-process server; DeclareVersion is answered only once RecvProbeData has come (or after 10 s), or `refuse`d then. */
  const holdingDeclaration =
    (events: string[], refuse = false): LocalServerOpener =>
    async (o) => {
      const server = await openLocalServer({ repo: o.local, client: o.user, logger: pino({ level: "silent" }) });
      let dataCame!: () => void;
      const data = new Promise<void>((resolve) => (dataCame = resolve));
      return {
        call: async (method, ...params) => {
          events.push(`call ${method}`);
          if (method === "RecvProbeData") dataCame();
          if (method === "DeclareVersion") {
            await Promise.race([data, new Promise((r) => setTimeout(r, 10_000))]);
            if (refuse) throw new XmlRpcFault(7, "version refused");
          }
          const answer = await server.call(method, ...params);
          if (method === "DeclareVersion") events.push("answered DeclareVersion");
          return answer;
        },
        close: () => server.close(),
      };
    };
  const quietLog = () => createLogger("error", "test", { out: () => undefined, err: () => undefined });

  it("declares the version while the probes run and their data goes, and asks for the configuration once that is answered", async () => {
    const work = tempDir("vacfg-order-");
    try {
      const events: string[] = [];
      const r = await runAgent(probedRun(work), quietLog(), defaultTools(), holdingDeclaration(events));
      expect(r.exitCode).to.equal(0);
      expect(events).to.deep.equal(["call AssertProfile", "call GetProbes", "call DeclareVersion", "call RecvProbeData", "answered DeclareVersion", "call GetConfig", "call RecvStats"]);
    } finally {
      removeDir(work);
    }
  });

  it("a declaration the server refuses ends the run before GetConfig (exit 1)", async () => {
    const work = tempDir("vacfg-order-");
    try {
      const events: string[] = [];
      const lines: string[] = [];
      const r = await runAgent(probedRun(work), createLogger("error", "test", { out: (l) => lines.push(l), err: (l) => lines.push(l) }), defaultTools(), holdingDeclaration(events, true));
      expect(r.exitCode).to.equal(1);
      expect(events).to.deep.equal(["call AssertProfile", "call GetProbes", "call DeclareVersion", "call RecvProbeData"]);
      expect(lines.join("\n")).to.match(/Fatal error: Failed to declare version: .*version refused/);
    } finally {
      removeDir(work);
    }
  });
});

describe("agent tools asking ahead", function () {
  this.timeout(120_000);
  it("ask once the first request is under way, not before it (a program started holds the run's thread), and are told when the run only waits", async () => {
    const work = tempDir("vacfg-ahead-");
    try {
      const root = join(work, "root");
      makeBaseRoot(root);
      addShell(root);
      const events: string[] = [];
      const opener = localServer((method) => events.push(`call ${method}`));
      class Recording extends AptTool {
        override ahead(ctx: Parameters<AptTool["ahead"]>[0]): void {
          events.push("ahead");
          void ctx.idle?.then(() => events.push("idle"));
          super.ahead(ctx);
        }
      }
      const tools = defaultTools().map((t) => (t instanceof AptTool ? new Recording() : t));
      const o = { ...defaultOptions(), local: exampleRepo, user: "node1", profile: "torque-worker", root, dryRun: true, configFile: "/nonexistent" };
      const r = await runAgent(o, createLogger("error", "test", { out: () => undefined, err: () => undefined }), tools, opener);
      expect(r.exitCode).to.equal(0);
      expect(events[0]).to.equal("call AssertProfile");
      expect(events.filter((e) => e === "ahead")).to.have.length(1);
      // what can wait of their own work waits until GetConfig is asked (no handshake of the run's is then under way)
      expect(events.indexOf("idle"), events.join(", ")).to.equal(events.indexOf("call GetConfig") + 1);
    } finally {
      removeDir(work);
    }
  });
});

describe("agent interactive mode (-I)", () => {
  it("installs only what the operator answers yes to", async () => {
    const work = tempDir("vacfg-interactive-");
    try {
      const root = join(work, "root");
      makeBaseRoot(root);
      const f = (name: string) => el("Path", { name, type: "file", owner: "root", group: "root", mode: "0644" }, [], "x\n");
      const cfg = join(work, "cfg.xml");
      writeFileSync(cfg, serializeConfiguration({ version: "2.0", revision: "1", bundles: [{ name: "b", attrs: {}, entries: [f("/srv/a"), f("/srv/b")] }], independent: [] }));
      const r = await runAgentProcess(["-f", cfg, "--root", root, "-I"], { input: "y\nn\n" });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.contain("Install Path: /srv/a? (y/N): ");
      expect([existsSync(join(root, "srv/a")), existsSync(join(root, "srv/b"))]).to.deep.equal([true, false]);
    } finally {
      removeDir(work);
    }
  });
});

describe("agent run lock", () => {
  it("refuses a second run for the same root while the first is alive (exit 1); -O bypasses the lock", async () => {
    const work = tempDir("vacfg-runlock-");
    const sleeper = spawn("sleep", ["30"]);
    const lock = `${agentRunLockBase(join(work, "root"))}.lock`;
    try {
      const root = join(work, "root");
      makeBaseRoot(root);
      const cfg = join(work, "cfg.xml");
      writeFileSync(cfg, serializeConfiguration({ version: "2.0", revision: "1", bundles: [{ name: "b", attrs: {}, entries: [el("Path", { name: "/srv/a", type: "file", owner: "root", group: "root", mode: "0644" }, [], "x\n")] }], independent: [] }));
      writeFileSync(lock, String(sleeper.pid));
      const r = await runAgentProcess(["-f", cfg, "--root", root]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain("Another instance of the agent is running");
      expect(existsSync(join(root, "srv/a"))).to.equal(false);
      expect((await runAgentProcess(["-f", cfg, "--root", root, "-O"])).code).to.equal(0);
      expect(existsSync(join(root, "srv/a"))).to.equal(true);
      sleeper.kill("SIGKILL");
      await new Promise((res) => sleeper.on("close", res));
      // the holder died: its lock is stale and the next run takes it
      expect((await runAgentProcess(["-f", cfg, "--root", root])).code).to.equal(0);
      expect(existsSync(lock)).to.equal(false);
    } finally {
      sleeper.kill("SIGKILL");
      rmSync(lock, { force: true });
      removeDir(work);
    }
  });
});
