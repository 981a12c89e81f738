// End-to-end durability of RecvStats: a real server process receives a stream of RecvStats over
// HTTPS (several connections at once) and is SIGKILLed at a random moment; every run whose
// RecvStats returned true must then be in the store. Shared by test/server/reporting and bench/.
import https from "node:https";
import { openStore } from "../server/store/open-store.js";
import { spawnServer } from "./server-process.js";
import { xmlrpc } from "./report-site.js";

export interface StatsDurabilityOptions {
  configPath: string;
  storeUrl: string;
  ca: string;
  password: string;
  env: Record<string, string>;
  trials: number;
  /** Concurrent RecvStats streams per trial. */
  streams?: number;
  /** The kill lands uniformly within this many ms after the first acknowledgement. */
  maxKillDelayMs?: number;
  logFile?: string;
}

export interface StatsDurabilityReport {
  trials: number;
  acknowledged: number;
  lost: number;
  /** Runs stored although the client saw no acknowledgement (allowed: the kill hit after commit). */
  unacknowledgedPresent: number;
}

function statsDoc(revision: string): string {
  const t = Date.now() / 1000;
  return (
    `<upload-statistics><Statistics total="1" good="0" state="dirty" version="2.0" revision="${revision}">` +
    `<Flags><Flag name="dry_run" value="False"/></Flags><Modified/><Extra/><Good/>` +
    `<Bad><Path name="/etc/motd" type="file" owner="root" group="root" mode="644" current_exists="false" qtext=""/></Bad>` +
    `<OpStamps start="${t}" finished="${t + 0.1}"/></Statistics></upload-statistics>`
  );
}

export async function statsDurabilityTrials(o: StatsDurabilityOptions): Promise<StatsDurabilityReport> {
  const report: StatsDurabilityReport = { trials: 0, acknowledged: 0, lost: 0, unacknowledgedPresent: 0 };
  const streams = o.streams ?? 4;
  for (let trial = 0; trial < o.trials; trial++) {
    const srv = await spawnServer(o.configPath, o.storeUrl, { env: o.env, logFile: o.logFile });
    const acked = new Set<string>();
    const sent = new Set<string>();
    let killed = false;
    let firstAck!: () => void;
    const firstAcked = new Promise<void>((r) => (firstAck = r));
    const stream = async (s: number): Promise<void> => {
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; !killed; i++) {
          const rev = `t${trial}-s${s}-${i}`;
          sent.add(rev);
          try {
            if ((await xmlrpc(srv.url, o.ca, `dur${s}`, o.password, "RecvStats", [statsDoc(rev)], agent)) === true) {
              acked.add(rev);
              firstAck();
            }
          } catch {
            if (killed) return;
            throw new Error(`RecvStats failed before the kill (trial ${trial})`);
          }
        }
      } finally {
        agent.destroy();
      }
    };
    const running = Promise.all(Array.from({ length: streams }, (_, s) => stream(s)));
    await firstAcked;
    await new Promise((r) => setTimeout(r, Math.random() * (o.maxKillDelayMs ?? 300)));
    killed = true;
    srv.proc.kill("SIGKILL");
    await running;
    await new Promise<void>((r) => (srv.proc.exitCode !== null || srv.proc.signalCode !== null ? r() : srv.proc.once("exit", () => r())));

    const store = await openStore(o.storeUrl);
    try {
      const stored = new Set<string>();
      for (let s = 0; s < streams; s++) for (const run of await store.listRuns({ client: `dur${s}` })) stored.add(run.revision);
      for (const rev of acked) if (!stored.has(rev)) report.lost++;
      for (const rev of sent) if (!acked.has(rev) && stored.has(rev)) report.unacknowledgedPresent++;
    } finally {
      await store.close();
    }
    report.acknowledged += acked.size;
    report.trials++;
  }
  return report;
}
