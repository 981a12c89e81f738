// A request on a kept-alive connection waits for the repository's changes once (Core.beginRequest:
// one event-loop turn after it arrived) and then answers GetConfig without waiting again: an edit its
// client made just before sending the request is in the answer, edit after edit on one connection,
// also when the request reached the server before the edit's inotify event did.
import https from "node:https";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { splitRequestClient } from "../../support/split-request-client.js";
import type { SplitRound } from "../../support/split-request-worker.js";
import { startTestSite, type TestSite } from "./site.js";
import { methodCall, pythonClientHeaders, request } from "./wire.js";

describe("GetConfig on a kept-alive connection sees the edit made just before it", function () {
  this.timeout(120_000);
  let site: TestSite;
  let agent: https.Agent;
  before(async function () {
    site = await startTestSite();
    agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  });
  after(async function () {
    agent?.destroy();
    await site?.cleanup();
  });

  it("answers 60 edits of node1's motd in a row, each in the very next request on the same connection", async function () {
    const motd = join(site.config.settings.repo, "Cfg/etc/motd/motd.H_node1");
    const getConfig = () => request(site.server.port, { agent, headers: pythonClientHeaders("node1", "labsecret"), body: methodCall("GetConfig") });
    const first = await getConfig();
    expect(first.status).to.equal(200);
    for (let round = 0; round < 60; round++) {
      const marker = `edited before request ${round}`;
      // Saved as editors do (a new file renamed over), alternating with an in-place write.
      if (round % 2 === 0) {
        writeFileSync(`${motd}.tmp`, `${marker}\n`);
        renameSync(`${motd}.tmp`, motd);
      } else writeFileSync(motd, `${marker}${" ".repeat(round)}\n`);
      const r = await getConfig();
      expect(r.localPort, `round ${round}: the same connection`).to.equal(first.localPort);
      expect(r.body.toString("utf8"), `round ${round}`).to.include(marker);
    }
  });

  // In the test above the kernel queues the edit's event before the request's bytes, and reports the
  // inotify descriptor first. Here the request's first half is already in the socket when the edit is
  // made and the second half is sent: the server's loop, held still meanwhile, reads the whole request
  // before the watcher's event. Only the turn beginRequest waits (settleArrived) lets the watcher see
  // the edit before the answer is chosen; without it every round answers the motd before the edit.
  it("sees an edit made between the two halves of a request, read before the edit's event", async function () {
    const motd = join(site.config.settings.repo, "Cfg/etc/motd/motd.H_node1");
    const body = methodCall("GetConfig");
    const headers: Record<string, string> = { ...pythonClientHeaders("node1", "labsecret"), "Content-Length": String(Buffer.byteLength(body)) };
    const text = `POST /RPC2 HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n${body}`;
    const { worker, next, sent } = splitRequestClient(site.server.port);
    try {
      expect(await next()).to.deep.equal({ connected: true });
      let port: number | undefined;
      const send = async (round: number, job: SplitRound): Promise<string> => {
        worker.postMessage(job);
        if (job.edit) {
          // This thread (the server's event loop) stands still until the whole request is sent.
          const waited = Atomics.wait(sent, 0, 0, 30_000);
          Atomics.store(sent, 0, 0);
          expect(waited, `round ${round}: the worker sent the request`).to.not.equal("timed-out");
        }
        const r = await next();
        if ("error" in r) expect.fail(`round ${round}: ${r.error}`);
        if (!("status" in r)) expect.fail(`round ${round}: unexpected message`);
        expect(r.status, `round ${round}`).to.equal(200);
        port ??= r.localPort;
        expect(r.localPort, `round ${round}: the same connection`).to.equal(port);
        return r.body;
      };
      const [head, rest] = [text.slice(0, 40), text.slice(40)];
      for (let round = 0; round < 30; round++) {
        // Once the last edit is seen, the build cache holds the answer for the current generation...
        const before = await send(round, { head, rest });
        // ...which an answer chosen before this edit's event would repeat.
        const marker = `edited between the halves of request ${round}`;
        const after = await send(round, { head, rest, edit: { path: motd, content: `${marker}${" ".repeat(round)}\n`, rename: round % 2 === 0 } });
        expect(before, `round ${round}: before the edit`).to.not.include(marker);
        expect(after, `round ${round}`).to.include(marker);
      }
    } finally {
      await worker.terminate();
    }
  });
});
