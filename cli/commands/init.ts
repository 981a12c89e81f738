// `vacfg init DIR`: a new site (repository skeleton, CA + server certificate, password, vacfg.conf).
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { initSite } from "../../server/admin/init.js";

export function registerInit(program: Command): void {
  const cmd = program
    .command("init")
    .description("create a site: DIR/repo skeleton, DIR/tls (CA, server certificate), DIR/password, DIR/vacfg.conf; never overwrites")
    .argument("<dir>", "site directory")
    .option("--hostname <name>", "server certificate name (default: this host's name)")
    .option("--port <n>", "listen port written to vacfg.conf", "6789")
    .option("--repository <dir>", "repository directory (default DIR/repo), written to vacfg.conf")
    .option("--data-dir <dir>", "data directory for the store and generated state (default DIR), created 0700")
    .action((dir: string, opts: { hostname?: string; port: string; repository?: string; dataDir?: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be a port number, found "${opts.port}"`);
      const r = initSite(dir, { hostname: opts.hostname, port, repository: opts.repository, dataDir: opts.dataDir });
      for (const p of r.created) console.log(`created ${p}`);
      if (r.created.length === 0) console.log(`${r.dir}: already initialised, nothing changed`);
      console.log(`start the server with: vacfg server -c ${r.configPath}`);
    });
  withExamples(cmd, ["vacfg init /srv/vacfg --hostname config.example.org   # then: vacfg server -c /srv/vacfg/vacfg.conf"]);
}
