// Entry point that runs startConfigServer in its own process, so it can be started inside a
// VM network namespace (`ip netns exec NS node config-server-main.js OPTIONS.json`), where the
// guests can reach it and nothing else can. Prints "LISTENING <port>" once serving; SIGTERM stops it.
import { readFileSync } from "node:fs";
import { startConfigServer, type ConfigServerOptions } from "./config-server.js";

const opts = JSON.parse(readFileSync(process.argv[2], "utf8")) as ConfigServerOptions;
const srv = await startConfigServer(opts);
process.stdout.write(`LISTENING ${srv.port}\n`);
const stop = () => {
  void srv.close().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
