// A TCP port free on a loopback address right now, for servers that must be told their port up
// front (PostgreSQL, the upstream Bcfg2 server, benchmark servers started as child processes).
import { createServer } from "node:net";

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
