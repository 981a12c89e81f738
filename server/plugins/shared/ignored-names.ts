// Names in repository directories that never become entries (Bcfg2's ignore_files), shared by
// every plugin that lists a directory (Cfg, SSHbase).
import { TEMP_MARK } from "../../../lib/atomic-file.js";

/** Bcfg2's default ignore_files: editor backups and VCS droppings never become entries. */
export function isIgnoredName(name: string): boolean {
  return (
    name.endsWith("~") ||
    name.endsWith("#") ||
    name.startsWith(".#") ||
    name.endsWith(".swp") ||
    name.endsWith(".swpx") ||
    name.endsWith(".swx") ||
    name === "SCCS" ||
    name === ".svn" ||
    name === ".git" ||
    name === "4913" ||
    name === ".gitignore" ||
    // our own in-progress atomic writes (see repo-write.ts)
    (name.startsWith(".") && (name.endsWith(".tmp") || name.includes(TEMP_MARK)))
  );
}
