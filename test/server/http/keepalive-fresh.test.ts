// A request on a kept-alive connection waits for the repository's changes once (Core.beginRequest:
// one event-loop turn after it arrived) and then answers GetConfig without waiting again: an edit its
// client made just before sending the request is in the answer, edit after edit on one connection.
import https from "node:https";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
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
});
