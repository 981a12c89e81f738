// `vacfg ctx assemble`: one parameter file per node from an appliance's context template,
// a site file and an instance request. `vacfg ctx check`: a parameter file (and template) validated.
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { assembleCommand } from "../../hypervisor/ctx/index.js";
import { checkContext } from "../../hypervisor/ctx/check.js";

/** `vacfg ctx check` exit status when the file or template is invalid (0 when valid). */
export const EXIT_INVALID = 1;

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function registerCtx(program: Command): void {
  const ctx = program.command("ctx").description("contextualization: parameter files for a deployment");
  const assemble = ctx
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
  withExamples(assemble, [
    "vacfg ctx assemble -t appliance/context.xml -s site/site.json -i cluster1.json -o out/cluster1   # out/cluster1/NODE.xml + manifest",
  ]);
  ctx
    .command("check")
    .description("validate a parameter file (and a context template, and the file against it)")
    .argument("<file>", "parameter file (<Parameters><Param .../></Parameters>, Figure 1 format)")
    .option("-t, --template <file>", "the appliance's context template: checked, and the file checked against it (undeclared, missing required, wrong shape)")
    .option("-k, --public-key <pem>", "site parameter-signing public key (ctx-signing.pub): the file must be signed with it; repeatable", collect)
    .addHelpText(
      "after",
      "\nPrints one line per problem, as FILE:LINE: Param \"NAME\": why, then a count.\nExit status: 0 valid, 1 invalid or unreadable (and on bad usage, as for every vacfg command).",
    )
    .action((file: string, o: { template?: string; publicKey?: string[] }) => {
      const r = checkContext({ file, template: o.template, publicKeys: o.publicKey });
      if (r.problems.length) {
        for (const p of r.problems) console.log(p);
        console.log(`${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}`);
        process.exitCode = EXIT_INVALID;
        return;
      }
      const signed = r.params?.signature ? `signed for ${r.params.signature.node}${o.publicKey?.length ? " (signature verified)" : ""}` : "unsigned";
      const tpl = r.template ? `; matches ${o.template} (appliance ${r.template.appliance}, ${r.template.params.length} declared)` : "";
      console.log(`${file}: valid, ${r.params?.params.size ?? 0} parameters, ${signed}${tpl}`);
    });
}
