// Shell-style globs as Python's fnmatch reads them (Bundler <Path glob=..>, XInclude hrefs, the
// agent's decision lists).

/** Python fnmatch.translate for *, ?, [..] (a "[" without its "]" is literal). */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[" && glob.indexOf("]", i + 2) > 0) {
      const j = glob.indexOf("]", i + 2);
      let body = glob.slice(i + 1, j).replace(/\\/g, "\\\\");
      if (body.startsWith("!")) body = "^" + body.slice(1);
      re += `[${body}]`;
      i = j;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^(?:${re})$`, "s");
}

/** The directory every match of an absolute glob lies under: its literal part up to the last "/" ("/" when none). */
export function globBaseDir(glob: string): string {
  const wild = glob.search(/[*?[]/);
  const literal = wild < 0 ? glob : glob.slice(0, wild);
  const slash = literal.lastIndexOf("/");
  return slash <= 0 ? "/" : literal.slice(0, slash);
}
