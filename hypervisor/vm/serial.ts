// Watching a guest's serial log: wait until a marker (or pattern) appears, e.g. the appliance
// boot marker, a command's output, or the power-off line.
import { readFile } from "node:fs/promises";
import { VacfgError } from "../../protocol/errors.js";

export interface SerialWaitOptions {
  timeoutMs: number;
  pollMs?: number;
  /** Stop early (and fail) when this returns true, e.g. the VM process has exited. */
  abort?: () => boolean | Promise<boolean>;
}

/** Resolves with the log text once it matches `want`; rejects with the log tail on timeout. */
export async function waitForSerial(path: string, want: string | RegExp | ((text: string) => boolean), o: SerialWaitOptions): Promise<string> {
  const deadline = Date.now() + o.timeoutMs;
  const matches = (t: string) => (typeof want === "string" ? t.includes(want) : typeof want === "function" ? want(t) : want.test(t));
  for (;;) {
    const text = await readFile(path, "utf8").catch(() => "");
    if (matches(text)) return text;
    const aborted = o.abort ? await o.abort() : false;
    if (aborted || Date.now() > deadline) {
      const again = await readFile(path, "utf8").catch(() => "");
      if (matches(again)) return again;
      const tail = again.split("\n").slice(-8).join("\n");
      throw new VacfgError("VM", `${path}: ${typeof want === "function" ? "expected output" : String(want)} not seen ${aborted ? "before the VM stopped" : `within ${o.timeoutMs} ms`}; log ends:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 50));
  }
}
