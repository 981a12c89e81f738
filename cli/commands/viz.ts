// `vacfg viz` (bcfg2-admin viz): groups, bundles and clients as a Graphviz digraph; written as dot
// text, or rendered by Graphviz's `dot` when -o names another format (svg, png, pdf, …).
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { pino } from "pino";
import { withExamples } from "../help.js";
import { runChecked } from "../../lib/host-tools.js";
import { openCore } from "../../server/admin/open-core.js";
import { vizDot } from "../../server/admin/viz.js";
import { addSiteOptions, siteSettings, type SiteOptions } from "./site-options.js";

interface VizCliOptions extends SiteOptions {
  includehosts?: boolean;
  includebundles?: boolean;
  includekey?: boolean;
  onlyClient?: string;
  outfile?: string;
}

export function registerViz(program: Command): void {
  const cmd = program.command("viz").description("groups, bundles, profiles and clients as a Graphviz graph (bcfg2-admin viz)");
  addSiteOptions(cmd, "draw")
    .option("-H, --includehosts", "include hosts in the viz output (one record per profile)")
    .option("-b, --includebundles", "include bundles in the viz output")
    .option("-k, --includekey", "show a key for the different shapes and the category colours")
    .option("--only-client <hostname>", "only show groups and bundles for the named client (bcfg2-admin's -c)")
    .option("-o, --outfile <file>", "write the output to FILE; its extension picks the format: .dot (the graph text) or any format dot renders (.svg, .png, .pdf)")
    .addHelpText("after", "\nWithout -o the dot text is printed. Rendering needs Graphviz's dot (Debian package graphviz).")
    .action(async (o: VizCliOptions) => {
      const { settings, storeUrl } = siteSettings(o, (line) => process.stderr.write(`vacfg viz: ${line}\n`));
      const { core, close } = await openCore(settings, storeUrl, pino({ level: "silent" }), { readOnly: true });
      let dot: string;
      try {
        const clients = new Map<string, string | undefined>();
        for (const c of await core.plugins.find((p) => p.listClients)!.listClients!()) clients.set(c, (await core.buildMetadata(c)).profile || undefined);
        const only = o.onlyClient ? await core.buildMetadata(o.onlyClient) : undefined;
        dot = vizDot(settings.repo, clients, undefined, { hosts: !!o.includehosts, bundles: !!o.includebundles, key: !!o.includekey, ...(only ? { only } : {}) });
      } finally {
        await close();
      }
      if (!o.outfile) return void process.stdout.write(dot);
      const format = o.outfile.includes(".") ? o.outfile.slice(o.outfile.lastIndexOf(".") + 1) : "dot";
      if (format === "dot" || format === "gv") return writeFileSync(o.outfile, dot);
      if (!/^[a-z0-9_:]+$/i.test(format)) throw new Error(`-o ${o.outfile}: "${format}" is not an output format`);
      await runChecked("dot", ["-T", format, "-o", o.outfile], { input: dot, code: "REPORT_QUERY", timeoutMs: 120_000 });
    });
  withExamples(cmd, [
    "vacfg viz -c /srv/vacfg/vacfg.conf -b -H -o groups.svg     # rendered by Graphviz",
    "vacfg viz -c /srv/vacfg/vacfg.conf --only-client node1 -b  # dot text for one client",
  ]);
}
