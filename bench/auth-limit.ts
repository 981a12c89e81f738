// What the XML-RPC authentication limit (server/http/client-auth-limit.ts: two stored limits read per
// request) costs: authenticated listMethods calls (no plugin work, so the front's own cost shows) on
// keep-alive connections, through startServer (with the limit) and through the same front without
// it, on one site and store, measured in the same run; SQLite, and PostgreSQL when it is installed.
// Usage: node dist/bench/auth-limit.js [calls=2000] [concurrency=8]
import https from "node:https";
import { pino } from "pino";
import { openCore } from "../server/admin/open-core.js";
import { serveApi, type RunningServer } from "../server/http/serve.js";
import { startServer } from "../server/start-server.js";
import { findPostgresBin, sharedPostgres } from "../harness/postgres-server.js";
import { makeSite, request, SITE_PASSWORD } from "../harness/report-site.js";

const CALLS = Number(process.argv[2] ?? 2000);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const BODY = "<?xml version='1.0'?>\n<methodCall>\n<methodName>listMethods</methodName>\n<params>\n</params>\n</methodCall>\n";

/** Calls per second for CALLS authenticated calls, CONCURRENCY at a time, on keep-alive connections. */
async function rate(url: string, ca: string): Promise<number> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const headers = { "Content-Type": "text/xml", Authorization: `Basic ${Buffer.from(`node1:${SITE_PASSWORD}`).toString("base64")}` };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next++ < CALLS) {
      const r = await request(`${url}/RPC2`, ca, { method: "POST", headers, body: BODY, agent });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  return CALLS / seconds;
}

async function measure(label: string, storeUrl?: string): Promise<void> {
  const site = makeSite(storeUrl);
  const logger = pino({ level: "silent" });
  const withLimit = await startServer({ ...site.config, logger });
  const opened = await openCore(site.config.settings, site.config.storeUrl, logger);
  const without: RunningServer = await serveApi({ api: opened.core, listen: site.config.listen, tls: site.config.tls, logger, onClose: () => opened.store.close() });
  try {
    const ca = site.config.tls.ca;
    await rate(withLimit.url, ca); // warm-up: registration, caches, JIT
    await rate(without.url, ca);
    const base: number[] = [];
    const limited: number[] = [];
    for (let round = 0; round < 3; round++) {
      base.push(await rate(without.url, ca));
      limited.push(await rate(withLimit.url, ca));
    }
    const b = Math.max(...base);
    const l = Math.max(...limited);
    console.log(`${label}: without the limit ${b.toFixed(0)} calls/s (${(1000 / b).toFixed(3)} ms/call), with it ${l.toFixed(0)} calls/s (${(1000 / l).toFixed(3)} ms/call); ratio ${(l / b).toFixed(2)}`);
  } finally {
    await Promise.all([withLimit.close(), without.close()]);
    site.cleanup();
  }
}

console.log(`auth-limit: ${CALLS} authenticated listMethods calls, ${CONCURRENCY} at a time, keep-alive, best of 3 rounds each`);
await measure("sqlite");
if (findPostgresBin()) await measure("postgres", await (await sharedPostgres()).createDatabase());
else console.log("postgres: not installed, skipped");
process.exit(0);
