// The client's file from the unified diff it reported (current_bdiff: Python difflib's
// unified_diff from the file on disk to the file the server sent, over lines split on "\n") and
// the file the server sends: the diff applied backwards. Upstream's pull feeds that diff to
// difflib.restore, which reads ndiff output, and so writes fragments of the file instead.

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/**
 * The "on disk" side of `diff`, given its "from bcfg2" side `served`. Returns undefined when the
 * diff does not apply to `served` (it was taken against other content, or is not a unified diff).
 */
export function restoreFromDiff(diff: string, served: string): string | undefined {
  const lines = diff.split("\n");
  const target = served.split("\n");
  const out: string[] = [];
  let i = 0;
  // Headers ("--- NAME (on disk)", "+++ NAME (from bcfg2)"; difflib ends them with a newline that
  // the join doubles) come before the first hunk only: inside hunks the counts say what is content.
  while (i < lines.length && !HUNK.test(lines[i]!)) i++;
  let next = 0; // the next line of `served` not yet copied
  let hunks = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line === "") {
      i++; // the blank line after a hunk header, or the end
      continue;
    }
    const m = HUNK.exec(line);
    if (!m) return undefined;
    hunks++;
    i++;
    let oldCount = m[2] === undefined ? 1 : Number(m[2]);
    let newCount = m[4] === undefined ? 1 : Number(m[4]);
    // difflib names an empty range by the line before it ("+0,0" at the start)
    const newStart = newCount === 0 ? Number(m[3]) : Number(m[3]) - 1;
    if (newStart < next || newStart > target.length) return undefined;
    out.push(...target.slice(next, newStart));
    next = newStart;
    if (i < lines.length && lines[i] === "") i++;
    while (oldCount > 0 || newCount > 0) {
      if (i >= lines.length) return undefined;
      const l = lines[i++]!;
      const tag = l[0];
      const text = l.slice(1);
      if (tag === " " || tag === "+") {
        if (newCount === 0 || target[next] !== text) return undefined;
        next++;
        newCount--;
      }
      if (tag === " " || tag === "-") {
        if (oldCount === 0) return undefined;
        out.push(text);
        oldCount--;
      }
      if (tag !== " " && tag !== "+" && tag !== "-") return undefined;
    }
  }
  if (hunks === 0) return undefined;
  out.push(...target.slice(next));
  return out.join("\n");
}
