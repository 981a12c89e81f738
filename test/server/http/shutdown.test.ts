// Stopping is prompt (issue 17): `vacfg server` (the real command, in its own process, alone and with
// --workers 2) stops accepting on SIGTERM or SIGINT, drops idle kept-alive connections at once, lets a
// request in flight finish with its full answer, and exits 0 within 2 s. SIGINT goes to the whole process
// group, as a terminal's Ctrl-C does, so cluster workers receive it too.
import { spawn, type ChildProcess } from "node:child_process";
import https from "node:https";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { makeSite, request, SITE_PASSWORD, type ReportSite } from "../../../harness/report-site.js";
import { parseMethodResponse } from "../../../protocol/xmlrpc/parser.js";
import { serializeMethodCall } from "../../../protocol/xmlrpc/serializer.js";

const VACFG = join(dirname(fileURLToPath(import.meta.url)), "../../../cli/vacfg.js");
/** The issue's bound; the server really exits in well under it. */
const EXIT_BOUND_MS = 2_000;
const AUTH = `Basic ${Buffer.from(`node1:${SITE_PASSWORD}`).toString("base64")}`;

interface Served {
  proc: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Every server started, so that one a failed test left running is killed (with its workers). */
const started: ChildProcess[] = [];

function serve(site: ReportSite, workers: number): Promise<Served> {
  const args = [VACFG, "server", "-c", site.configPath, "--host", "127.0.0.1", "--port", "0", ...(workers ? ["--workers", String(workers)] : [])];
  // Its own process group, so SIGINT can reach the group as from a terminal.
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  started.push(proc);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((res) => proc.once("exit", (code, signal) => res({ code, signal, at: Date.now() })));
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    proc.stderr!.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    proc.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on (https:\/\/[0-9.:\[\]]+)[ ,\n]/.exec(out);
      if (m) resolve({ proc, url: m[1], exited });
    });
    void exited.then((e) => reject(new Error(`server exited (${e.code ?? e.signal}) before listening: ${err}`)));
  });
}

function signal(s: Served, sig: "SIGTERM" | "SIGINT"): number {
  const at = Date.now();
  if (sig === "SIGINT") process.kill(-s.proc.pid!, sig);
  else s.proc.kill(sig);
  return at;
}

const call = (method: string): string => serializeMethodCall({ methodName: method, params: ["1.4.0"] });

/**
 * A request whose body arrives in two parts: the first before the signal, the rest `afterMs` later.
 * Resolves with the answer the server gave.
 */
function slowRequest(url: string, ca: string, agent: https.Agent): { sent: Promise<void>; finish(): void; answer: Promise<{ status: number; body: string }> } {
  const body = Buffer.from(call("DeclareVersion"));
  const half = Math.floor(body.length / 2);
  let finish!: () => void;
  let sent!: () => void;
  const sentP = new Promise<void>((r) => (sent = r));
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request(`${url}/RPC2`, { method: "POST", ca, agent, servername: "localhost", headers: { "Content-Type": "text/xml", Authorization: AUTH, "Content-Length": String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.flushHeaders();
    req.write(body.subarray(0, half), () => sent());
    finish = () => req.end(body.subarray(half));
  });
  return { sent: sentP, finish: () => finish(), answer };
}

describe("stopping the server (vacfg server in its own process)", function () {
  this.timeout(120_000);
  let site: ReportSite;
  const exits: string[] = [];

  before(function () {
    site = makeSite();
    writeFileSync(site.configPath, readFileSync(site.configPath, "utf8").replace(/^password = .*$/m, `password = ${SITE_PASSWORD}`));
  });
  afterEach(function () {
    for (const p of started.splice(0)) {
      try {
        process.kill(-p.pid!, "SIGKILL");
      } catch {
        // the whole group is gone already
      }
    }
  });
  after(function () {
    site?.cleanup();
    console.log(`      exit after the signal (ms): ${exits.join(", ")}`);
  });

  for (const workers of [0, 2]) {
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      const label = `${workers ? `--workers ${workers}, ` : ""}${sig}`;
      const expectPrompt = async (s: Served, at: number, what: string): Promise<void> => {
        const e = await Promise.race([s.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
        if (!e) {
          process.kill(-s.proc.pid!, "SIGKILL");
          expect.fail(`${label}, ${what}: still running 15 s after the signal`);
        }
        exits.push(`${label} ${what}: ${e.at - at}`);
        expect(e, `${label}, ${what}`).to.include({ code: 0, signal: null });
        expect(e.at - at, `${label}, ${what}: ms from the signal to the exit`).to.be.below(EXIT_BOUND_MS);
      };

      it(`${label}: with no client connected, exits 0 within 2 s`, async function () {
        const s = await serve(site, workers);
        await expectPrompt(s, signal(s, sig), "no client");
      });

      it(`${label}: with an idle kept-alive client, exits 0 within 2 s`, async function () {
        const s = await serve(site, workers);
        const agent = new https.Agent({ keepAlive: true, maxSockets: 4 });
        try {
          const r = await request(`${s.url}/RPC2`, site.config.tls.ca, { method: "POST", headers: { "Content-Type": "text/xml", Authorization: AUTH }, body: call("DeclareVersion"), agent });
          expect(r.status).to.equal(200);
          // The connection stays open, idle, in the agent.
          expect(Object.values(agent.freeSockets).flat().length).to.be.greaterThan(0);
          await expectPrompt(s, signal(s, sig), "idle keep-alive client");
        } finally {
          agent.destroy();
        }
      });

      it(`${label}: a request in flight gets its full answer, then the server exits 0 within 2 s`, async function () {
        const s = await serve(site, workers);
        const agent = new https.Agent({ keepAlive: true });
        try {
          const slow = slowRequest(s.url, site.config.tls.ca, agent);
          await slow.sent;
          // Let the server read the first half, so the request is in flight when the signal comes.
          await new Promise((r) => setTimeout(r, 200));
          const at = signal(s, sig);
          await new Promise((r) => setTimeout(r, 300));
          slow.finish();
          const a = await slow.answer;
          expect(a.status).to.equal(200);
          const resp = parseMethodResponse(a.body);
          expect(resp).to.deep.include({ kind: "result", value: true });
          await expectPrompt(s, at, "request in flight");
        } finally {
          agent.destroy();
        }
      });
    }
  }
});
