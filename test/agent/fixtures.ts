// Sandbox roots for agent tests (built with agent/image-root), the tiny real .deb packages that
// stand in for Torque's, and the agent as a real process.
import { spawn } from "node:child_process";
import { lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DebSpec } from "../../agent/image-root.js";

export { addShell, buildAptRepo, makeBaseRoot, type DebSpec } from "../../agent/image-root.js";
import { addShell, makeBaseRoot } from "../../agent/image-root.js";

export const AGENT_MAIN = join(dirname(fileURLToPath(import.meta.url)), "../../agent/main.js");

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

const unit = (desc: string) => `[Unit]\nDescription=${desc}\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n`;

/** Tiny stand-ins for the packages the Torque bundles name, with the files real ones ship. */
export function torquePackages(): DebSpec[] {
  return [
    { name: "bash", version: "5.2.15-2", files: { "usr/share/doc/vacfg-test/bash": "bash\n" } },
    { name: "coreutils", version: "9.1-1", files: { "usr/share/doc/vacfg-test/coreutils": "coreutils\n" } },
    { name: "openssh-client", version: "1:9.2p1-2", files: { "usr/share/doc/vacfg-test/openssh-client": "ssh\n" } },
    { name: "torque-client", version: "6.1.2-1", files: { "var/spool/torque/": ["", 0o755], "var/spool/torque/spool/": ["", 0o1777], "usr/bin/qstat": ["#!/bin/sh\n", 0o755] } },
    { name: "torque-mom", version: "6.1.2-1", files: { "lib/systemd/system/torque-mom.service": unit("Torque MOM"), "lib/systemd/system/pbs_mom.service": unit("Torque MOM") } },
    { name: "torque-scheduler", version: "6.1.2-1", files: { "lib/systemd/system/torque-scheduler.service": unit("Torque scheduler"), "lib/systemd/system/pbs_sched.service": unit("Torque scheduler") } },
    {
      name: "torque-server",
      version: "6.1.2-1",
      files: {
        "lib/systemd/system/torque-server.service": unit("Torque server"),
        "lib/systemd/system/pbs_server.service": unit("Torque server"),
        "usr/bin/qmgr": ["#!/bin/sh\necho \"$@\" >> /var/log/qmgr.log\n", 0o755],
        "var/log/": ["", 0o755],
      },
    },
    { name: "openssh-server", version: "1:9.2p1-2", files: { "lib/systemd/system/ssh.service": unit("OpenBSD Secure Shell server"), "etc/ssh/": ["", 0o755] } },
    { name: "vacfg-hello", version: "1.0-1", files: { "usr/share/vacfg-hello/hello.txt": "hello\n" } },
  ];
}

export interface AgentRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the agent as a real process (node dist/agent/main.js), as another user when `uid` is given. */
export function runAgentProcess(args: string[], opts: { timeoutMs?: number; input?: string; uid?: number; gid?: number } = {}): Promise<AgentRun> {
  return new Promise((resolve) => {
    const ids = opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid ?? opts.uid };
    const child = spawn(process.execPath, [AGENT_MAIN, ...args], { stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"], ...ids });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c) => (stdout += c));
    child.stderr!.on("data", (c) => (stderr += c));
    const t = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("close", (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/**
 * Every path under dir with its inode, mtime and mode: "changes nothing" means this is equal.
 * apt's package lists are left out: a real run refreshes them (apt-get update) to learn whether a
 * version="auto" package has a newer candidate, and they are a cache, not configuration.
 */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const skipped = join(dir, "var/lib/apt/lists");
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (p === skipped) continue;
      const st = lstatSync(p);
      out.set(p, `${st.ino}:${st.mtimeMs}:${st.mode}:${st.uid}:${st.gid}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** DIR/NAME as a fresh image root with apt pointed at `aptRepo` and a shell for chrooted actions. */
export function sandboxRoot(dir: string, name: string, aptRepo: string): string {
  const root = join(dir, name);
  makeBaseRoot(root, aptRepo);
  addShell(root);
  return root;
}
