// `vacfg demo cluster`: the paper's five-node cluster, deployed from the Figure 1 parameters,
// really booted and contextualized into a Slurm head and four workers that run a job (see
// demo/cluster.ts). Needs root.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Option, type Command } from "commander";
import { withExamples } from "../help.js";
import { runClusterDemo, SSH_USER } from "../../demo/cluster.js";

/** The project root when running from dist/cli/commands/. */
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export function registerDemoCluster(program: Command): void {
  const demo = program.commands.find((c) => c.name() === "demo") ?? program.command("demo").description("demonstrations");
  const cmd = demo
    .command("cluster")
    .description("deploy and boot the Figure 1 cluster (5 VMs), contextualize it as Slurm (each node ready at its first clean run), run srun -N4 hostname and ssh to each worker on the head, pause/reactivate, expire, shut down")
    .addOption(new Option("-r, --repo <dir>", "repository the configuration server serves").default(resolve(projectRoot, "repo"), "repo/ of this checkout"))
    .option("-m, --memory <MiB>", "memory per VM", "320")
    .action(async (o: { repo: string; memory: string }) => {
      const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
      const r = await runClusterDemo({ projectRoot, repo: resolve(o.repo), memoryMiB: Number(o.memory), progress: log });
      for (const n of r.nodes) {
        console.log(`\n== ${n.fqdn} (${n.address}, ${n.mac}) contextualized after ${(n.contextualizedMs / 1000).toFixed(1)} s, agent runs: ${n.agentRuns.length}`);
        for (const [f, text] of n.files) {
          const lines = text.trimEnd().split("\n");
          console.log(`-- ${f}\n${lines.slice(0, 6).join("\n")}${lines.length > 6 ? `\n   … (${lines.length} lines)` : ""}`);
        }
      }
      console.log(`\ndeploy -> ${r.ready.all ? "all five ready (first clean run)" : `NOT all ready (${r.ready.errors.join("; ")})`}: ${(r.ready.ms / 1000).toFixed(1)} s; all five contextualized: ${(r.allContextualizedMs / 1000).toFixed(1)} s (${r.driver}/${r.accel ?? "-"})`);
      console.log(`\n$ ${r.job.command}   (on ${r.nodes[0]?.fqdn}, exit ${r.job.exit})\n${r.job.output.join("\n")}`);
      console.log(`deploy -> job output: ${(r.job.ms / 1000).toFixed(1)} s`);
      console.log(`\n$ ssh ${SSH_USER}@WORKER hostname   (on ${r.nodes[0]?.fqdn}: batch mode, strict host key checking, the delivered known_hosts)\n${r.ssh.map((x) => `${x.worker}: exit ${x.exit} ${x.output}`).join("\n")}`);
      console.log(`pause: ${r.pause.observed.join(",")}; console ${r.pause.serialGrewWhilePaused ? "GREW" : "silent"} while paused; ${r.pause.ticksAfterUnpause ? "resumed" : "NOT resumed"} after unpause`);
      console.log(`ttl: ${r.ttl.vm} ${r.ttl.phase}, address ${r.ttl.addressReleased ? "released" : "STILL LEASED"}, powered off ${r.ttl.poweredOffGracefully ? "via ACPI" : "forcibly"}`);
      console.log(`shutdown: ${r.shutdown.phases.join(",")}; leases left after destroy: ${r.leasesAfterDestroy}`);
    });
  withExamples(cmd, ["vacfg demo cluster -m 384   # as root: QEMU guests, bridges and network namespaces"]);
}
