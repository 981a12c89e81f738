// `vacfg deploy`: deploy one appliance or a named group of them through the Workspace Service
// described by a workspace configuration (hypervisor/workspace/config.ts).
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { loadWorkspaceConfig, openWorkspace } from "../../hypervisor/workspace/config.js";
import type { WorkspaceService } from "../../hypervisor/workspace/service.js";
import type { VmRecord } from "../../hypervisor/workspace/types.js";
import { DELIVERIES } from "../../protocol/ctx-delivery.js";
import { VacfgError } from "../../protocol/errors.js";

export const WORKSPACE_OPTION = ["-w, --workspace <file>", "workspace configuration (JSON)", "workspace.json"] as const;

export function registerDeploy(program: Command): void {
  const cmd = program
    .command("deploy")
    .description("deploy an appliance group: parameters assembled, overlays patched, VMs booted")
    .argument("<request>", "deployment request (JSON): name, appliance, instance, resources, ttlSeconds, files, command, delivery")
    .option(...WORKSPACE_OPTION)
    .option("--ttl <seconds>", "time to live (overrides the request)")
    .option("--delivery <how>", `how the parameters reach the nodes: ${DELIVERIES.join("|")} (overrides the request; default patch)`)
    .option("--update", "redeploy the running deployment of that name with the changed request (users, keys, parameters, files): same nodes, MACs, addresses and generated host keys and secrets; each VM replaced by a fresh one booted with the new parameters")
    .option("--wait", "return once every node is contextualized (its first clean run); exit 1 naming the nodes that are not, with their last error")
    .option("--timeout <seconds>", "how long --wait waits", "600")
    .action(async (requestPath: string, opts: { workspace: string; ttl?: string; delivery?: string; update?: boolean; wait?: boolean; timeout: string }) => {
      let req: Record<string, unknown>;
      try {
        req = JSON.parse(readFileSync(requestPath, "utf8")) as Record<string, unknown>;
      } catch (e) {
        throw new VacfgError("WORKSPACE_REQUEST", `${requestPath}: ${(e as Error).message}`);
      }
      if (opts.ttl !== undefined) req.ttlSeconds = Number(opts.ttl);
      // checked with the request's other fields (WORKSPACE_REQUEST naming "delivery")
      if (opts.delivery !== undefined) req.delivery = opts.delivery;
      const timeout = timeoutSeconds(opts.timeout);
      const ws = await openWorkspace(loadWorkspaceConfig(opts.workspace));
      try {
        const t0 = Date.now();
        const r = opts.update ? await ws.service.update(req) : await ws.service.deploy(req);
        console.log(`deployment ${r.deployment.name}${opts.update ? " updated" : ""}: ${r.vms.length} VM(s) on ${r.vms[0]?.driver ?? "-"}, parameters by ${r.deployment.delivery}`);
        for (const v of r.vms) console.log(`${v.name}\t${v.fqdn}\t${v.address ?? "-"}\t${v.mac}\t${v.resources.memoryMiB} MiB\t${v.serialLog}`);
        if (opts.wait) await waitAndReport(ws.service, r.deployment.name, timeout, t0);
      } finally {
        await ws.close();
      }
    });
  withExamples(cmd, [
    "vacfg deploy cluster1.json -w workspace.json --ttl 3600   # VMs expire after an hour (vacfg vm reap)",
    "vacfg deploy cluster1.json -w workspace.json --delivery dhcp --wait --timeout 900   # exit 1 names nodes not contextualized in 15 min",
    "vacfg deploy cluster1.json -w workspace.json --update --wait   # after editing its users: the nodes rebooted fresh with the new parameters",
  ]);
}

export function timeoutSeconds(text: string): number {
  const t = Number(text);
  if (!Number.isFinite(t) || t <= 0) throw new VacfgError("WORKSPACE_REQUEST", `--timeout: expected seconds > 0, got "${text}"`);
  return t;
}

/** One VM's readiness for people: ready after how long, or what its last run said. */
function readinessLine(v: VmRecord, since: number): string {
  const r = v.readiness;
  if (r?.state === "ready") return `${v.name}\tready\tcontextualized ${new Date(r.contextualizedAt!).toISOString()} (${((r.contextualizedAt! - since) / 1000).toFixed(1)} s)`;
  return `${v.name}\t${r?.state ?? "unknown"}\t${r?.lastError ?? "-"}`;
}

/**
 * `deploy --wait` and `vm wait`: waits for the target's nodes to be contextualized, prints each,
 * and on failure sets exit code 1 and names the nodes that are not, with their last error.
 */
export async function waitAndReport(service: WorkspaceService, target: string, timeoutS: number, since?: number): Promise<void> {
  const w = await service.waitReady(target, { timeoutMs: timeoutS * 1000 });
  for (const v of w.vms) console.log(readinessLine(v, since ?? v.createdAt));
  if (w.ready) return;
  const not = w.vms.filter((v) => v.readiness?.state !== "ready");
  const why = w.vms.some((v) => v.phase !== "running" && v.phase !== "paused") ? "(a VM stopped)" : `after ${timeoutS} s`;
  process.exitCode = 1;
  console.error(`not contextualized ${why}: ${not.map((v) => `${v.name} (${v.phase}${v.readiness?.lastError ? `: ${v.readiness.lastError}` : ""})`).join("; ")}`);
}
