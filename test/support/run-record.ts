// A run record with one entry of each kind, for tests that fill a store.
import type { RunRecord } from "../../server/store/store.js";

export function makeRun(client: string, timestamp: number, over: Partial<RunRecord> = {}): RunRecord {
  return {
    client,
    timestamp,
    state: "dirty",
    total: 3,
    good: 1,
    bad: 1,
    modified: 1,
    extra: 0,
    revision: "abc123",
    dryRun: false,
    flags: { dryrun: "False", only_important: "False" },
    timings: { start: 1732550000.25, config_download: 1732550001.5, finished: 1732550002.125 },
    entries: [
      { kind: "good", tag: "Path", name: "/etc/motd", attrs: { type: "file", owner: "root" } },
      {
        kind: "bad",
        tag: "Path",
        name: "/etc/hosts",
        attrs: { type: "file", current_owner: "nobody", perms: "0644" },
        diff: "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y ü\n",
      },
      { kind: "modified", tag: "Service", name: "sshd", attrs: { status: "on" } },
    ],
    ...over,
  };
}
