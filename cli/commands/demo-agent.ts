// `vacfg demo agent` (`npm run demo`): the main job on embedded defaults. Starts the configuration
// server on a copy of the example repository, assembles the Figure 1 parameters for a 5-node Torque
// cluster signed with the site key (the server checks them with its public half), delivers them into two sandbox roots (head node and a worker) where an image patch would
// put them, and runs the agent twice in each: the first run configures, the second finds nothing to do.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { pino } from "pino";
import { addShell, makeBaseRoot } from "../../agent/image-root.js";
import { runAgentCli } from "../../agent/cli.js";
import { parseStatistics } from "../../protocol/documents/statistics.js";
import { CONTEXT_FILE_PATH, serializeParameterFile } from "../../protocol/params.js";
import { parseContextTemplate } from "../../protocol/ctx-template.js";
import { assemble } from "../../hypervisor/ctx/assemble.js";
import { writeSiteCa } from "../../hypervisor/ctx/site-ca.js";
import { SANDBOX_LEFT_OUT, addPackageAccounts, sandboxRepoCopy } from "../../demo/sandbox-repo.js";
import { FIGURE1_USERS, TORQUE_CONTEXT_TEMPLATE, figure1Site } from "../../demo/torque-appliance.js";
import { CTX_SIGNING_KEY } from "../../server/admin/ctx-signing-key.js";
import { ensureDefaults } from "../../server/admin/ensure-defaults.js";
import { startServer } from "../../server/start-server.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const SHOWN = ["/etc/resolv.conf", "/etc/hostname", "/etc/slurm/slurm.conf", "/etc/hosts"];

async function agentRun(args: string[], statsFile: string): Promise<string> {
  const code = await runAgentCli([...args, "--stats-file", statsFile]);
  const s = parseStatistics(readFileSync(statsFile, "utf8"));
  return `exit ${code}, ${s.state}: ${s.good}/${s.total} entries good, ${s.modified.length} modified, ${s.bad.length} bad`;
}

export function registerDemoAgent(program: Command): void {
  const demo = program.commands.find((c) => c.name() === "demo") ?? program.command("demo").description("demonstrations");
  const cmd = demo
    .command("agent", { isDefault: true })
    .description("server on the example repository + the agent contextualizing a head node and a worker in sandbox roots")
    .option("-d, --data-dir <dir>", "where the demo keeps its server data and sandbox roots", "vacfg-demo")
    .action(async (o: { dataDir: string }) => {
      const dir = resolve(o.dataDir);
      // Sandbox roots have no package source and no init system: the demo's copy of the repository
      // leaves those entries out of its bundles, so the runs can be clean.
      if (!existsSync(join(dir, "repo"))) {
        const left = sandboxRepoCopy(join(projectRoot, "repo"), join(dir, "repo"));
        console.log(`repository copy for sandbox roots: ${SANDBOX_LEFT_OUT.join("/")} entries left out of ${Object.entries(left).map(([f, n]) => `${f} (${n})`).join(", ")}`);
      }
      const cfg = ensureDefaults(dir);
      cfg.listen = { host: "127.0.0.1", port: 0 };
      const server = await startServer({ ...cfg, logger: pino({ level: "warn" }, pino.destination(join(dir, "server.log"))) });
      try {
        console.log(`server: ${server.url} (repository ${cfg.settings.repo}, store ${cfg.storeUrl})`);
        const ca = writeSiteCa(join(dir, "site-ca"));
        const nodes = assemble(parseContextTemplate(TORQUE_CONTEXT_TEMPLATE, "torque template"), figure1Site({ cert: ca.cert, key: ca.key }, join(dir, CTX_SIGNING_KEY)), {
          count: 5,
          users: FIGURE1_USERS,
        });
        console.log(`assembled ${nodes.length} parameter files: ${nodes.map((n) => `${n.fqdn}=${n.address}`).join(" ")}`);
        for (const node of [nodes[0], nodes[1]]) {
          const root = join(dir, "roots", node.fqdn);
          if (!existsSync(join(root, "etc/passwd"))) {
            makeBaseRoot(root);
            addShell(root);
            addPackageAccounts(root);
          }
          const ctx = join(root, CONTEXT_FILE_PATH);
          mkdirSync(dirname(ctx), { recursive: true });
          writeFileSync(ctx, serializeParameterFile(node.params, node.signature), { mode: 0o600 });
          const args = ["-S", server.url, "-u", node.fqdn, "-x", cfg.settings.password, "--ca", cfg.tlsFiles.ca, "--root", root, "-q"];
          console.log(`\n== ${node.fqdn} (${node === nodes[0] ? "head node" : "worker"}), root ${root}`);
          console.log(`first run:  ${await agentRun(args, join(dir, `${node.fqdn}.stats1.xml`))}`);
          console.log(`second run: ${await agentRun(args, join(dir, `${node.fqdn}.stats2.xml`))}`);
          for (const f of SHOWN.filter((p) => existsSync(join(root, p)))) {
            console.log(`-- ${f}\n${readFileSync(join(root, f), "utf8").trimEnd()}`);
          }
          // the cluster's people come from the signed `users` parameter (Context plugin)
          const people = new Set([...FIGURE1_USERS.map((u) => u.name), "torqueadm"]);
          const users = readFileSync(join(root, "etc/passwd"), "utf8").split("\n").filter((l) => people.has(l.split(":")[0]));
          console.log(`-- /etc/passwd (cluster users)\n${users.join("\n")}`);
          const keys = join(root, "home", FIGURE1_USERS[0].name, ".ssh/authorized_keys");
          if (existsSync(keys)) console.log(`-- ${keys.slice(root.length)}\n${readFileSync(keys, "utf8").trimEnd()}`);
        }
        console.log("\nPackages, services and their actions are left out here: sandbox roots have no package source");
        console.log("and no init system (an appliance image has both; `vacfg demo cluster` boots real VMs).");
        console.log(`reports: https://127.0.0.1:${server.port}/reports (admin password in ${join(dir, "admin-password")}) — stopping now`);
      } finally {
        await server.close();
      }
    });
  withExamples(cmd, ["vacfg demo agent -d /tmp/vacfg-demo   # also what npm run demo runs"]);
}
