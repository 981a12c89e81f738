// The Debian packages a repository profile installs, read from the configuration the server core
// renders for it (local mode, no network), so the cached debootstrap layer can carry them.
import { pino } from "pino";
import { allEntries, parseConfiguration } from "../../protocol/documents/configuration.js";
import { VacfgError } from "../../protocol/errors.js";
import { openLocalServer } from "../../server/admin/local-server.js";

export async function profilePackages(repo: string, profile: string, client: string): Promise<string[]> {
  const server = await openLocalServer({ repo, client, logger: pino({ level: "silent" }) });
  try {
    try {
      await server.call("AssertProfile", profile);
    } catch (e) {
      throw new VacfgError("IMAGE", `profile ${profile}: ${(e as Error).message}`, { cause: e });
    }
    const cfg = parseConfiguration(String(await server.call("GetConfig")));
    const names = allEntries(cfg)
      .map((x) => x.entry)
      .filter((e) => e.tag === "Package" && (e.attrs.type === "deb" || e.attrs.type === "apt") && e.attrs.name)
      .map((e) => e.attrs.name!);
    return [...new Set(names)].sort();
  } finally {
    await server.close();
  }
}
