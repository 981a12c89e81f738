// `vacfg info CLIENT`: what the server would send CLIENT, and bcfg2-info's views of it, read-only
// (no client registered, no key generated, no store created or written; server/admin/inspect.ts).
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { pino } from "pino";
import { inspectClient, type InspectView } from "../../server/admin/inspect.js";
import { openCore } from "../../server/admin/open-core.js";
import { addSiteOptions, siteSettings, type SiteOptions } from "./site-options.js";

interface InfoOptions extends SiteOptions {
  raw?: boolean;
  groups?: boolean;
  bundles?: boolean;
  probes?: boolean;
  file?: string;
  showSecrets?: boolean;
}

function viewOf(o: InfoOptions): InspectView {
  const views: InspectView[] = [];
  if (o.groups) views.push("groups");
  if (o.bundles) views.push("bundles");
  if (o.probes) views.push("probes");
  if (o.file !== undefined) views.push("file");
  if (views.length > 1) throw new Error(`choose one of --groups, --bundles, --probes, --file (got ${views.map((v) => `--${v}`).join(", ")})`);
  return views[0] ?? "config";
}

export function registerInfo(program: Command): void {
  const cmd = program
    .command("info")
    .description("what the server would send CLIENT (read-only: nothing is registered, generated or stored)")
    .argument("<client>", "client name");
  addSiteOptions(cmd, "inspect")
    .option("--groups", "the client's profile, groups, categories and bundles")
    .option("--bundles", "each bundle of its configuration: entry count, or why it could not be built")
    .option("--probes", "the probes it runs and the probe data last stored for it")
    .option("--file <path>", "one Path entry, rendered (bound on its own when not in the client's bundles)")
    .option("--show-secrets", "print private keys and non-world-readable files instead of masking them")
    .option("--raw", "print the document exactly as sent on the wire (no indentation)")
    .action(async (client: string, opts: InfoOptions) => {
      const view = viewOf(opts);
      const { settings, storeUrl } = siteSettings(opts, (line) => process.stderr.write(`vacfg info: ${line}\n`));
      const { core, close } = await openCore(settings, storeUrl, pino({ level: "silent" }), { readOnly: true });
      try {
        const r = await inspectClient(core, client, { view, file: opts.file, showSecrets: opts.showSecrets, raw: opts.raw });
        process.stdout.write(r.text + "\n");
        for (const n of r.notes) process.stderr.write(`vacfg info: ${n}\n`);
        if (r.failures.length) {
          process.stderr.write(`vacfg info: ${r.failures.length} ${r.failures.length === 1 ? "entry" : "entries"} could not be built; ${client}'s runs will not be clean:\n`);
          for (const f of r.failures) process.stderr.write(`  ${f}\n`);
        }
        if (r.pending.length) process.stderr.write(`vacfg info: ${r.pending.length} key ${r.pending.length === 1 ? "entry does" : "entries do"} not exist yet (created on ${client}'s first run)\n`);
        if (r.masked) process.stderr.write(`vacfg info: contents of ${r.masked} secret ${r.masked === 1 ? "entry" : "entries"} masked (--show-secrets prints them)\n`);
      } finally {
        await close();
      }
    });
  withExamples(cmd, [
    "vacfg info node1 -c /srv/vacfg/vacfg.conf             # the configuration node1 would get",
    "vacfg info node1 -c /srv/vacfg/vacfg.conf --groups    # its profile, groups and bundles",
    "vacfg info node1 -c /srv/vacfg/vacfg.conf --file /etc/motd",
  ]);
}
