// `vacfg deploy`: deploy one appliance or a named group of them through the Workspace Service
// described by a workspace configuration (hypervisor/workspace/config.ts).
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { loadWorkspaceConfig, openWorkspace } from "../../hypervisor/workspace/config.js";
import { VacfgError } from "../../protocol/errors.js";

export const WORKSPACE_OPTION = ["-w, --workspace <file>", "workspace configuration (JSON)", "workspace.json"] as const;

export function registerDeploy(program: Command): void {
  const cmd = program
    .command("deploy")
    .description("deploy an appliance group: parameters assembled, overlays patched, VMs booted")
    .argument("<request>", "deployment request (JSON): name, appliance, instance, resources, ttlSeconds, files, command")
    .option(...WORKSPACE_OPTION)
    .option("--ttl <seconds>", "time to live (overrides the request)")
    .action(async (requestPath: string, opts: { workspace: string; ttl?: string }) => {
      let req: Record<string, unknown>;
      try {
        req = JSON.parse(readFileSync(requestPath, "utf8")) as Record<string, unknown>;
      } catch (e) {
        throw new VacfgError("WORKSPACE_REQUEST", `${requestPath}: ${(e as Error).message}`);
      }
      if (opts.ttl !== undefined) req.ttlSeconds = Number(opts.ttl);
      const ws = await openWorkspace(loadWorkspaceConfig(opts.workspace));
      try {
        const r = await ws.service.deploy(req);
        console.log(`deployment ${r.deployment.name}: ${r.vms.length} VM(s) on ${r.vms[0]?.driver ?? "-"}`);
        for (const v of r.vms) console.log(`${v.name}\t${v.fqdn}\t${v.address ?? "-"}\t${v.mac}\t${v.resources.memoryMiB} MiB\t${v.serialLog}`);
      } finally {
        await ws.close();
      }
    });
  withExamples(cmd, ["vacfg deploy cluster1.json -w workspace.json --ttl 3600   # VMs expire after an hour (vacfg vm reap)"]);
}
