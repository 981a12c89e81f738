// Shared by the Trigger test and the migration compat suite: a script that records its arguments once
// the test releases it (so a run that waited for it would never finish), and one that fails.
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const TRIGGER_FILES: Record<string, string> = {
  // Waits until the test releases it, then records its arguments beside the repository's Trigger/.
  "Trigger/record.sh":
    '#!/bin/sh\nd=$(cd "$(dirname "$0")/.." && pwd)\nwhile [ ! -f "$d/release" ]; do sleep 0.05; done\nprintf \'%s\\n\' "$@" > "$d/trigger.tmp.$1" && mv "$d/trigger.tmp.$1" "$d/trigger.out.$1"\n',
  "Trigger/fails.sh": '#!/bin/sh\necho "boom: $1" >&2\nexit 3\n',
};

export function makeTriggersExecutable(repo: string): void {
  for (const f of Object.keys(TRIGGER_FILES)) chmodSync(join(repo, f), 0o755);
}

/** The arguments a released record.sh wrote for `client` in `repo` (waits up to a minute for it). */
export async function triggerArgs(repo: string, client: string): Promise<string[]> {
  const out = join(repo, `trigger.out.${client}`);
  for (let i = 0; i < 1200 && !existsSync(out); i++) await sleep(50);
  return readFileSync(out, "utf8").trimEnd().split("\n");
}

