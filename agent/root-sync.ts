// The run's one sync of the root. dpkg unpacks with --force-unsafe-io and the POSIX tool writes
// without an fsync per file (temp + rename: a kill still leaves the old or the new file); each says
// so here, and before the run reports (statistics, exit code) the filesystem holding the root is
// synced once (syncfs(2), through coreutils `sync -f`), as mmdebstrap and debootstrap finish.
// Account files (passwd, shadow, …) are still fsynced one by one (account-files.ts).
import type { ExecResult } from "./tools/tool.js";

export class RootSync {
  private pending = false;

  /** Something under the root changed without an fsync. */
  later(): void {
    this.pending = true;
  }

  /** Syncs the root's filesystem when something asked since the last flush; the error in words, or undefined. */
  async flush(root: string, exec: (argv: string[]) => Promise<ExecResult>): Promise<string | undefined> {
    if (!this.pending) return undefined;
    this.pending = false;
    const r = await exec(["sync", "-f", root]);
    return r.code === 0 ? undefined : `sync -f ${root} failed (exit ${r.code}): ${r.stderr.trim()}`;
  }
}
