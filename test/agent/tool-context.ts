// A real ToolContext for in-process tool tests: the sandbox root, real commands, a quiet logger.
import { loadAccounts, type AccountDb } from "../../agent/accounts.js";
import { execCommand } from "../../agent/exec.js";
import { createLogger } from "../../agent/log.js";
import { RootSync } from "../../agent/root-sync.js";
import type { ToolContext } from "../../agent/tools/tool.js";

export function toolContext(root: string, over: Partial<ToolContext> = {}): ToolContext & { lines: string[] } {
  const lines: string[] = [];
  let accounts: AccountDb = loadAccounts(root);
  return {
    root,
    dryRun: false,
    interactive: false,
    quick: true,
    paranoid: false,
    paranoidPath: "/var/cache/vacfg/paranoid",
    paranoidCopies: 1,
    log: createLogger("debug", "test", { out: (s) => lines.push(s), err: (s) => lines.push(s) }),
    accounts: () => accounts,
    reloadAccounts: () => {
      accounts = loadAccounts(root);
    },
    prompt: async () => false,
    exec: (argv, opts) => execCommand(argv, opts),
    rootSync: new RootSync(),
    lines,
    ...over,
  };
}

/** A RootSync that also records what it was told changed, as "<path in the root> <file|directory|entry>". */
export class RecordingRootSync extends RootSync {
  readonly seen: string[] = [];
  constructor(private readonly root: string) {
    super();
  }
  override changed(path: string, inode: "file" | "directory" | undefined): void {
    this.seen.push(`${path.slice(this.root.length)} ${inode ?? "entry"}`);
    super.changed(path, inode);
  }
}
