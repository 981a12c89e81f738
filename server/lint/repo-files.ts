// Lists the files of a repository the way the server would see them: relative
// paths with forward slashes, editor leftovers and VCS folders skipped.
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

// Upstream's ignore patterns (Plugin/helpers.py, Probes.py): emacs/vim leftovers.
const IGNORED_FILE = /^(\.#.*|.*~|\..*\.(tmp|sw[px]))$/;
const SKIPPED_DIR = new Set([".git", ".svn", ".hg", "CVS"]);

/** Regular files only; symlinked directories are not followed (no escaping the repository). */
export function listRepositoryFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      let st;
      try {
        st = lstatSync(abs);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!SKIPPED_DIR.has(name)) walk(abs, r);
      } else if (st.isFile() && !IGNORED_FILE.test(name)) {
        out.push(r);
      }
    }
  };
  walk(root, "");
  return out;
}
