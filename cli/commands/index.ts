// Every vacfg subcommand, in the order `vacfg --help` lists them.
import type { Command } from "commander";
import { registerLint } from "./lint.js";
import { registerCtx } from "./ctx.js";
import { registerInit } from "./init.js";
import { registerServer } from "./server.js";
import { registerInfo } from "./info.js";
import { registerAgent } from "./agent.js";
import { registerReports } from "./reports.js";
import { registerDeploy } from "./deploy.js";
import { registerVm } from "./vm.js";
import { registerDemoAgent } from "./demo-agent.js";
import { registerDemoCluster } from "./demo-cluster.js";
import { registerAttest } from "./attest.js";
import { registerImage } from "./image.js";
import { registerCrypt } from "./crypt.js";
import { registerClient } from "./client.js";
import { registerViz } from "./viz.js";
import { registerCompare } from "./compare.js";
import { registerPull } from "./pull.js";

export function registerCommands(program: Command): void {
  registerLint(program);
  registerCtx(program);
  registerInit(program);
  registerServer(program);
  registerInfo(program);
  registerAgent(program);
  registerReports(program);
  registerDeploy(program);
  registerVm(program);
  registerDemoAgent(program);
  registerDemoCluster(program);
  registerAttest(program);
  registerImage(program);
  registerCrypt(program);
  registerClient(program);
  registerViz(program);
  registerCompare(program);
  registerPull(program);
}
