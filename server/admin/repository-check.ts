// Before a server (or `vacfg info`) loads a repository: it must be a directory with something in
// it, so a typo in [server] repository is a clear refusal instead of a server that serves nothing.
import { readdirSync, statSync } from "node:fs";
import { VacfgError } from "../../protocol/errors.js";

export function checkRepositoryDir(repo: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(repo).isDirectory();
  } catch {
    throw new VacfgError("REPO_MISSING", `repository ${repo} does not exist ([server] repository in vacfg.conf, or --repo; \`vacfg init SITE\` creates one)`);
  }
  if (!isDir) throw new VacfgError("REPO_MISSING", `repository ${repo} is not a directory`);
  if (readdirSync(repo).filter((n) => !n.startsWith(".")).length === 0) {
    throw new VacfgError("REPO_MISSING", `repository ${repo} is empty (it needs at least Metadata/groups.xml; \`vacfg init SITE\` creates a skeleton)`);
  }
}
