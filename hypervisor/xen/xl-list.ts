// Parsing the table that `xl list` prints (tools/xl/xl_list.c: "%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f")
// into VmStatus values.
import type { VmState, VmStatus } from "../vm/driver.js";

// Name may contain spaces, so the row is matched from the right: id, memory, vcpus, the six
// state flags (r b p s <shutdown-reason> d) and the CPU time.
const ROW = /^(.+?)\s+(\d+)\s+(\d+)\s+(\d+)\s+([-a-zA-Z]{6})\s+(\d+(?:\.\d+)?)\s*$/;

/** The state named by xl's six flag letters; "dying" and "shutdown" win over a stale running bit. */
export function xlFlagsToState(flags: string): VmState {
  if (flags[5] === "d") return "dying";
  if (flags[3] === "s") return flags[4] === "c" ? "crashed" : "shutdown";
  if (flags[2] === "p") return "paused";
  if (flags[0] === "r") return "running";
  if (flags[1] === "b") return "blocked";
  // A runnable domain waiting for a CPU shows no flag at all.
  return flags === "------" ? "running" : "unknown";
}

export function parseXlList(output: string, opts: { includeDom0?: boolean } = {}): VmStatus[] {
  const rows: VmStatus[] = [];
  for (const line of output.split("\n")) {
    if (!line.trim() || /^Name\s+ID\s+Mem/.test(line)) continue;
    const m = ROW.exec(line);
    if (!m) continue;
    const id = Number(m[2]);
    if (id === 0 && !opts.includeDom0) continue;
    rows.push({ name: m[1].trim(), id, memoryMiB: Number(m[3]), vcpus: Number(m[4]), state: xlFlagsToState(m[5]) });
  }
  return rows;
}
