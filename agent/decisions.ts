// Server decision lists (-l whitelist|blacklist): [tag, name] pairs matched with fnmatch.

function fnmatchToRegExp(pat: string): RegExp {
  let re = "";
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const j = pat.indexOf("]", i + 2);
      if (j < 0) re += "\\[";
      else {
        let body = pat.slice(i + 1, j).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body}]`;
        i = j;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

export type Decision = [string, string];

export function parseDecisionList(v: unknown): Decision[] {
  if (!Array.isArray(v)) return [];
  return v.filter((p): p is [string, string] => Array.isArray(p) && p.length === 2 && typeof p[0] === "string" && typeof p[1] === "string");
}

export function matchesDecision(list: Decision[], tag: string, name: string): boolean {
  return list.some(([t, n]) => (t === tag && n === name) || (fnmatchToRegExp(t).test(tag) && fnmatchToRegExp(n).test(name)));
}
