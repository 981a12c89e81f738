// `vacfg ctx assemble`: one parameter file per node from an appliance's context template,
// a site file and an instance request.
import type { Command } from "commander";
import { assembleCommand } from "../../hypervisor/ctx/index.js";

export function registerCtx(program: Command): void {
  const ctx = program.command("ctx").description("contextualization: parameter files for a deployment");
  ctx
    .command("assemble")
    .description("bind the template's parameters (site + instance) and write one parameter file per node")
    .requiredOption("-t, --template <file>", "the appliance's contextualization template (XML)")
    .requiredOption("-s, --site <file>", "site binding: DNS servers, networks and pools, site CA (JSON)")
    .requiredOption("-i, --instance <file>", "instance request: nodes, users, overrides (JSON)")
    .requiredOption("-o, --out <dir>", "output directory")
    .action((opts: { template: string; site: string; instance: string; out: string }) => {
      const r = assembleCommand({ template: opts.template, site: opts.site, request: opts.instance, outDir: opts.out });
      for (const n of r.nodes) console.log(`${n.fqdn}\t${n.address ?? "-"}\t${n.mac ?? "-"}${n.secret ? "\t(secret: 0600)" : ""}`);
      console.log(`manifest: ${r.manifest}`);
    });
}
