// `vacfg compare` (bcfg2-admin compare): two configurations entry by entry, either two files (or
// directories of CLIENT.xml files), or what clients get from the repository now against another
// checkout of it (--old-repo DIR), both built read-only as `vacfg info` builds them.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Command } from "commander";
import { pino } from "pino";
import { withExamples } from "../help.js";
import { compareConfigs, renderChanges, type Changes, type CompareOptions } from "../../server/admin/compare-configs.js";
import { openCore } from "../../server/admin/open-core.js";
import { addSiteOptions, siteSettings, type SiteOptions } from "./site-options.js";

interface CompareCliOptions extends SiteOptions {
  client?: string[];
  oldRepo?: string;
  diffLines?: string;
  quiet?: boolean;
}

export function registerCompare(program: Command): void {
  const cmd = program
    .command("compare")
    .description("compare two configurations entry by entry, or clients' configurations before and after a repository change (bcfg2-admin compare)")
    .argument("[path1]", "a configuration (GetConfig XML, e.g. from vacfg info --raw) or a directory of CLIENT.xml files")
    .argument("[path2]", "the configuration (or directory) to compare it with");
  addSiteOptions(cmd, "build the new configurations from")
    .option("--client <name...>", "build these clients' configurations from the repository and from --old-repo and compare them")
    .option("--old-repo <dir>", "the repository before the change (e.g. a git worktree of the previous commit)")
    .option("--diff-lines <n>", "show only N lines of each content diff (bcfg2-admin's -d)")
    .option("-q, --quiet", "only show that entries differ, not how they differ")
    .action(async (path1: string | undefined, path2: string | undefined, o: CompareCliOptions) => {
      if (o.diffLines !== undefined && !/^\d+$/.test(o.diffLines)) throw new Error(`--diff-lines must be a whole number, found "${o.diffLines}"`);
      const opts: CompareOptions = { quiet: !!o.quiet, ...(o.diffLines !== undefined ? { diffLines: Number(o.diffLines) } : {}) };
      const changes: Changes = new Map();
      let several = false;
      if (o.client?.length) {
        if (!o.oldRepo || path1 || path2) throw new Error("--client compares the repository with --old-repo DIR (and takes no paths)");
        const { settings, storeUrl } = siteSettings(o, (line) => process.stderr.write(`vacfg compare: ${line}\n`));
        const build = async (repo: string) => {
          const { core, close } = await openCore({ ...settings, repo }, storeUrl, pino({ level: "silent" }), { readOnly: true });
          try {
            const out = new Map<string, string>();
            for (const c of o.client!) out.set(c, await core.getConfig(c));
            return out;
          } finally {
            await close();
          }
        };
        const before = await build(resolve(o.oldRepo));
        const after = await build(settings.repo);
        for (const c of o.client) compareConfigs(before.get(c)!, after.get(c)!, c, opts, changes);
        several = o.client.length > 1;
      } else {
        if (!path1 || !path2) throw new Error("give two files or directories, or --client NAME --old-repo DIR");
        const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
        if (isDir(path1) && isDir(path2)) {
          several = true;
          const host = (f: string) => f.replace(/\.xml$/, "");
          const [l1, l2] = [readdirSync(path1).sort(), readdirSync(path2).sort()];
          for (const f of l1) if (!l2.includes(f)) changes.set(`Removed: ${host(f)}`, []);
          for (const f of l2) if (!l1.includes(f)) changes.set(`Added: ${host(f)}`, []);
          for (const f of l1.filter((f) => l2.includes(f))) compareConfigs(readFileSync(join(path1, f), "utf8"), readFileSync(join(path2, f), "utf8"), host(f), opts, changes);
        } else if (isDir(path1) || isDir(path2)) {
          throw new Error("Cannot diff a file and a directory");
        } else {
          compareConfigs(readFileSync(path1, "utf8"), readFileSync(path2, "utf8"), basename(path1).replace(/\.xml$/, ""), opts, changes);
        }
      }
      process.stdout.write(renderChanges(changes, several));
    });
  withExamples(cmd, [
    "vacfg compare node1-before.xml node1-after.xml",
    "vacfg compare -c /srv/vacfg/vacfg.conf --client node1 node2 --old-repo /srv/vacfg/repo-HEAD~1",
  ]);
}
