// The server's memory under hostile bodies stays bounded: the real server runs as its own process at
// the default limits, and its peak resident set (VmHWM, reset before each attack) may grow at most
// 64 MB above its idle size whatever the body. Growth is a behaviour of the server, not a timing.
import { readFileSync, writeFileSync } from "node:fs";
import { expect } from "chai";
import { makeSite, request, SITE_PASSWORD, statsDocument, type ReportSite } from "../../../harness/report-site.js";
import { spawnServer, type ServerProcess } from "../../../harness/server-process.js";
import { DEFAULT_BODY_LIMIT } from "../../../server/http/limits.js";

const BOUND_MB = 64;
/** Just under the default limit: the largest body the server reads. */
const SIZE = DEFAULT_BODY_LIMIT - 4096;

function methodCall(method: string, inner: string[]): string {
  const params = inner.map((v) => `<param>\n<value>${v}</value>\n</param>\n`).join("");
  return `<?xml version='1.0'?>\n<methodCall>\n<methodName>${method}</methodName>\n<params>\n${params}</params>\n</methodCall>\n`;
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const str = (s: string): string => `<string>${esc(s)}</string>`;
/** `unit` repeated to fill the body up to SIZE bytes, inside `open` … `close`. */
const fill = (open: string, unit: string, close: string, overhead = 200): string =>
  open + unit.repeat(Math.floor((SIZE - Buffer.byteLength(open + close) - overhead) / Buffer.byteLength(unit))) + close;

const STATS_OPEN = '<upload-statistics><Statistics total="1" good="1" state="dirty" version="2.0" revision="-1"><Flags/><Bad>';
const STATS_CLOSE = "</Bad></Statistics></upload-statistics>";

/** Each attack's body; the statistics documents are escaped once inside the string, so they are sized before escaping. */
const ATTACKS: Record<string, () => string> = {
  "RecvStats flooded with entries": () => methodCall("RecvStats", [`<string>${fill(esc(STATS_OPEN), esc('<Path name="/x" a="1"/>'), esc(STATS_CLOSE))}</string>`]),
  "RecvStats with one huge base64 diff": () => methodCall("RecvStats", [`<string>${fill(esc(`${STATS_OPEN}<Path name="/x" current_bdiff="`), "QUFB", esc(`"/>${STATS_CLOSE}`))}</string>`]),
  "RecvStats nested deep": () => methodCall("RecvStats", [`<string>${fill("", "&lt;a&gt;", "")}</string>`]),
  "RecvStats with non-ASCII text": () => methodCall("RecvStats", [`<string>${fill(esc(`${STATS_OPEN}<Path name="/x" current_bfile="`), "é€", esc(`"/>${STATS_CLOSE}`))}</string>`]),
  "GetDecisionList with a huge mode": () => methodCall("GetDecisionList", [fill("<string>", "w", "</string>")]),
  "an array of nils in the envelope": () => methodCall("GetConfig", [fill("<array><data>", "<value><nil/></value>", "</data></array>")]),
  "a body over the limit": () => methodCall("RecvStats", [str("x".repeat(DEFAULT_BODY_LIMIT * 2))]),
};

function memoryMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) / 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

describe("memory under hostile bodies (server process, default limits)", function () {
  this.timeout(300_000);
  let site: ReportSite;
  const auth = `Basic ${Buffer.from(`node1:${SITE_PASSWORD}`).toString("base64")}`;
  const measured: Record<string, string> = {};

  before(function () {
    site = makeSite();
    // The default limits: nothing in vacfg.conf sets a body limit.
    expect(readFileSync(site.configPath, "utf8")).not.to.match(/max_request_bytes/);
    writeFileSync(site.configPath, readFileSync(site.configPath, "utf8").replace(/^password = .*$/m, `password = ${SITE_PASSWORD}`));
  });

  after(function () {
    site?.cleanup();
    console.log(`      peak RSS above idle per attack (MB): ${JSON.stringify(measured)}`);
  });

  for (const [name, body] of Object.entries(ATTACKS)) {
    it(`${name}: peak RSS stays within ${BOUND_MB} MB of idle, and the server still serves`, async function () {
      // A fresh server per attack, so each is measured from the same idle state.
      const server: ServerProcess = await spawnServer(site.configPath, site.config.storeUrl);
      try {
        const ca = site.config.tls.ca;
        const post = (b: string) => request(`${server.url}/RPC2`, ca, { method: "POST", headers: { "Content-Type": "text/xml", Authorization: auth }, body: b });
        const pid = server.proc.pid!;
        // Warm every path once (code, statements, caches), then take the idle size.
        for (let i = 0; i < 3; i++) {
          for (const warm of [
            methodCall("DeclareVersion", [str("1.4.0")]),
            methodCall("GetConfig", []),
            methodCall("GetDecisionList", [str("whitelist")]),
            methodCall("RecvStats", [str(statsDocument("dirty"))]),
            methodCall("RecvStats", [str("<a")]),
            "<methodCall><methodName>x</methodName>",
          ]) {
            await post(warm);
          }
        }
        const b = body();
        if (name === "a body over the limit") expect(Buffer.byteLength(b)).to.be.greaterThan(DEFAULT_BODY_LIMIT);
        else expect(Buffer.byteLength(b)).to.be.within(DEFAULT_BODY_LIMIT - 64 * 1024, DEFAULT_BODY_LIMIT);
        // Reset the peak to the current size (Linux clear_refs 5), so VmHWM is this attack's peak.
        writeFileSync(`/proc/${pid}/clear_refs`, "5");
        const idle = memoryMb(pid);
        expect(idle.hwm).to.be.closeTo(idle.rss, 1);
        const r = await post(b).catch((e: Error) => e);
        // Over the limit, the server may answer 413 and close before the client has sent everything.
        // 200 (a fault or a result), or 413 from a limit (body size, elements).
        if (!(r instanceof Error)) expect([200, 413]).to.include(r.status);
        else expect(name).to.equal("a body over the limit");
        const peak = memoryMb(pid).hwm;
        measured[name] = `${(peak - idle.rss).toFixed(1)} (idle ${idle.rss.toFixed(1)})`;
        expect(peak - idle.rss, `${name}: peak ${peak.toFixed(1)} MB, idle ${idle.rss.toFixed(1)} MB`).to.be.lessThan(BOUND_MB);
        expect((await post(methodCall("DeclareVersion", [str("1.4.0")]))).status).to.equal(200);
      } finally {
        await server.stop();
      }
    });
  }
});
