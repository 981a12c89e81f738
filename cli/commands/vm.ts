// `vacfg vm`: list and manage workspace VMs (one VM or a whole deployment by name): shutdown,
// pause, unpause (reactivate), destroy, ttl, and the reaper that enforces time to live.
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { loadWorkspaceConfig, openWorkspace, type OpenWorkspace } from "../../hypervisor/workspace/config.js";
import type { VmRecord } from "../../hypervisor/workspace/types.js";
import { WORKSPACE_OPTION, timeoutSeconds, waitAndReport } from "./deploy.js";

async function withWorkspace<T>(path: string, f: (ws: OpenWorkspace) => Promise<T>): Promise<T> {
  const ws = await openWorkspace(loadWorkspaceConfig(path));
  try {
    return await f(ws);
  } finally {
    await ws.close();
  }
}

function printVms(vms: VmRecord[]): void {
  const now = Date.now();
  for (const v of vms) {
    const ttl = v.expiresAt === undefined ? "-" : `${Math.max(0, Math.round((v.expiresAt - now) / 1000))}s`;
    const r = v.readiness;
    const ready = r?.state === "ready" ? `ready ${new Date(r.contextualizedAt!).toISOString()}` : `${r?.state ?? "unknown"}${r?.lastError ? ` (${r.lastError})` : ""}`;
    console.log([v.name, v.phase, v.observed ?? "-", v.address ?? "-", v.mac, `${v.resources.memoryMiB}MiB/${v.resources.vcpus}cpu`, `ttl ${ttl}`, v.delivery ?? "patch", ready].join("\t"));
  }
}

export function registerVm(program: Command): void {
  const vm = program.command("vm").description("manage workspace VMs and deployments");
  const list = vm.command("list")
    .description("every VM: recorded phase, what the hypervisor reports now (died = vanished), address, MAC, resources, ttl, delivery, readiness (ready TIME of its first clean run, or pending with the last run's error)")
    .option(...WORKSPACE_OPTION)
    .option("--json", "JSON output")
    .action((o: { workspace: string; json?: boolean }) =>
      withWorkspace(o.workspace, async (ws) => {
        const vms = await ws.service.list();
        if (o.json) console.log(JSON.stringify(vms, null, 2));
        else printVms(vms);
      }),
    );
  withExamples(list, ["vacfg vm list -w workspace.json", "vacfg vm list -w workspace.json --json"]);
  for (const op of ["shutdown", "pause", "unpause", "destroy"] as const) {
    const cmd = vm.command(op)
      .description(`${op} a VM, or every VM of a deployment`)
      .argument("<name>", "VM or deployment name")
      .option(...WORKSPACE_OPTION)
      .action((name: string, o: { workspace: string }) =>
        withWorkspace(o.workspace, async (ws) => {
          if (op === "destroy") console.log(`destroyed: ${(await ws.service.destroy(name)).join(" ")}`);
          else printVms(await ws.service[op](name));
        }),
      );
    withExamples(cmd, [`vacfg vm ${op} cluster1 -w workspace.json   # every VM of deployment cluster1 (or one VM by name)`]);
  }
  const wait = vm.command("wait")
    .description("wait until every VM of a deployment (or one VM) is contextualized: its first clean agent run; exit 1 naming those that are not, with their last error")
    .argument("<name>", "VM or deployment name")
    .option(...WORKSPACE_OPTION)
    .option("--timeout <seconds>", "how long to wait", "600")
    .action((name: string, o: { workspace: string; timeout: string }) => {
      const timeout = timeoutSeconds(o.timeout);
      return withWorkspace(o.workspace, (ws) => waitAndReport(ws.service, name, timeout));
    });
  withExamples(wait, ["vacfg vm wait cluster1 -w workspace.json --timeout 300   # like cloud-init status --wait, for a whole deployment"]);
  const ttl = vm.command("ttl")
    .description("set the time to live of a VM or deployment, from now")
    .argument("<name>", "VM or deployment name")
    .argument("<seconds>", "seconds from now until vacfg vm reap shuts it down")
    .option(...WORKSPACE_OPTION)
    .action((name: string, seconds: string, o: { workspace: string }) => withWorkspace(o.workspace, async (ws) => printVms(await ws.service.setTtl(name, Number(seconds)))));
  withExamples(ttl, ["vacfg vm ttl cluster1 7200 -w workspace.json"]);
  const reap = vm.command("reap")
    .description("shut down VMs whose time to live has passed and release their resources")
    .option(...WORKSPACE_OPTION)
    .option("--every <seconds>", "keep running, reaping every N seconds")
    .action((o: { workspace: string; every?: string }) =>
      withWorkspace(o.workspace, async (ws) => {
        const once = async () => {
          const r = await ws.service.reap();
          if (r.length) console.log(`${new Date().toISOString()} expired: ${r.join(" ")}`);
        };
        await once();
        if (!o.every) return;
        const ms = Number(o.every) * 1000;
        await new Promise<void>((resolve) => {
          const t = setInterval(() => void once().catch((e: unknown) => console.error(`reap: ${(e as Error).message}`)), ms);
          const stop = () => {
            clearInterval(t);
            resolve();
          };
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
      }),
    );
  withExamples(reap, ["vacfg vm reap -w workspace.json --every 60   # keep running, once a minute"]);
}
