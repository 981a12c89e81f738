// `vacfg info CLIENT`: the configuration the server would send CLIENT (probe data from the store),
// without going through the network.
import type { Command } from "commander";
import { pino } from "pino";
import { parseXml, serializeXml } from "../../protocol/xml.js";
import { ensureDefaults } from "../../server/admin/ensure-defaults.js";
import { openCore } from "../../server/admin/open-core.js";
import { loadServerConfig } from "../../server/admin/server-config.js";

export function registerInfo(program: Command): void {
  program
    .command("info")
    .description("print the configuration the server would send CLIENT")
    .argument("<client>", "client name")
    .option("-c, --config <file>", "vacfg.conf (from vacfg init)")
    .option("-d, --data-dir <dir>", "without --config: the server's data directory", "vacfg-data")
    .option("-r, --repo <dir>", "without --config: repository", "repo")
    .option("--raw", "print the document exactly as sent on the wire (no indentation)")
    .action(async (client: string, opts: { config?: string; dataDir: string; repo: string; raw?: boolean }) => {
      const cfg = opts.config ? loadServerConfig(opts.config) : ensureDefaults(opts.dataDir, { repo: opts.repo });
      const { core, close } = await openCore(cfg.settings, cfg.storeUrl, pino({ level: "warn" }, pino.destination(2)));
      try {
        const doc = await core.getConfig(client);
        process.stdout.write((opts.raw ? doc : serializeXml(parseXml(doc, { keepBlankText: true }), { pretty: true })) + "\n");
        if (doc.startsWith("<error")) process.exitCode = 1;
      } finally {
        await close();
      }
    });
}
