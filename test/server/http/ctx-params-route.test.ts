// GET /ctx/TOKEN on the real HTTPS front: the parameter file the workspace left in the shared store
// for a DHCP-delivered node, and nothing for a token that is unknown or not a token.
import { expect } from "chai";
import { get } from "node:https";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CTX_DELIVERY_KIND, type CtxDeliveryRecord } from "../../../protocol/ctx-delivery.js";
import { startTestSite, type TestSite } from "./site.js";

function fetch(site: TestSite, path: string): Promise<{ status: number; type: string; cache: string; body: string }> {
  return new Promise((resolve, reject) => {
    get(`${site.server.url}${path}`, { ca: readFileSync(join(site.tlsDir, "ca.crt")) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), cache: String(res.headers["cache-control"]), body: Buffer.concat(chunks).toString() }));
    }).on("error", reject);
  });
}

describe("server: GET /ctx/TOKEN serves a DHCP-delivered parameter file", function () {
  this.timeout(180_000);
  let site: TestSite;
  before(async () => {
    site = await startTestSite();
  });
  after(async () => site?.cleanup());

  it("answers the file for its token without credentials, and 404 for an unknown or malformed token", async () => {
    const token = randomBytes(16).toString("base64url");
    const doc: CtxDeliveryRecord = { fqdn: "n1.example", text: '<?xml version="1.0"?>\n<Parameters>\n  <Param name="domain" value="example"/>\n</Parameters>\n' };
    await site.server.core.store.put(CTX_DELIVERY_KIND, token, doc);
    const ok = await fetch(site, `/ctx/${token}`);
    expect([ok.status, ok.body, ok.cache]).to.deep.equal([200, doc.text, "no-store"]);
    expect(ok.type).to.match(/^application\/xml/);
    for (const bad of [`/ctx/${randomBytes(16).toString("base64url")}`, "/ctx/..%2f..%2fetc%2fpasswd", `/ctx/${token}x`, "/ctx/"]) {
      const r = await fetch(site, bad);
      expect(r.status, bad).to.be.oneOf([404, 501]);
      expect(r.body, bad).to.not.contain("Parameters");
    }
    await site.server.core.store.delete(CTX_DELIVERY_KIND, token);
    expect((await fetch(site, `/ctx/${token}`)).status).to.equal(404);
  });
});
