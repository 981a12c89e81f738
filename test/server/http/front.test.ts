// The configuration server over HTTPS as clients see it: startServer with the real Core on a
// copy of the example repository, called with the Python client's exact headers, through the
// real Python xmlrpc tool, and with upstream's recorded wire cases replayed unchanged.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { expect } from "chai";
import { VacfgError, XmlRpcFault } from "../../../protocol/errors.js";
import { parseMethodResponse } from "../../../protocol/xmlrpc/parser.js";
import type { XmlRpcValue } from "../../../protocol/xmlrpc/values.js";
import { createCa, issueCertificate, issueClientCertificate } from "../../../server/admin/tls-material.js";
import { faultFor } from "../../../server/http/fault-map.js";
import { bcfg2RefInstall } from "../../support/paths.js";
import { ensureUpstreamInstalled } from "../../support/upstream-bcfg2.js";
import { startTestSite, type TestSite } from "./site.js";
import { basic, call, header, methodCall, pythonClientHeaders, rawExchange, replay, request, wireCase } from "./wire.js";

const run = promisify(execFile);

function result(body: Buffer): XmlRpcValue {
  const r = parseMethodResponse(body.toString("utf8"));
  if (r.kind !== "result") throw new Error(`fault ${r.faultCode}: ${r.faultString}`);
  return r.value;
}

function fault(body: Buffer): { faultCode: number; faultString: string } {
  const r = parseMethodResponse(body.toString("utf8"));
  if (r.kind !== "fault") throw new Error(`expected a fault, got ${JSON.stringify(r)}`);
  return { faultCode: r.faultCode, faultString: r.faultString };
}

describe("configuration server over HTTPS (startServer, real Core)", function () {
  let site: TestSite;
  let port: number;
  const LIMIT = 256 * 1024;

  before(async function () {
    // The real Python client and xmlrpc tool come from the upstream kit (installed when missing, as root).
    if (!ensureUpstreamInstalled()) throw new Error(`the upstream Bcfg2 kit is not installed at ${bcfg2RefInstall}`);
    site = await startTestSite({ bodyLimit: LIMIT });
    port = site.server.port;
  });

  after(async function () {
    await site?.cleanup();
  });

  async function stillServes(): Promise<void> {
    const r = await call(port, "node0", "node0secret", "DeclareVersion", "1.4.0pre2");
    expect(r.status).to.equal(200);
    expect(result(r.body)).to.equal(true);
  }

  describe("as the Python client calls it", function () {
    it("answers DeclareVersion with the Python client's headers exactly as upstream (wire case 22)", async function () {
      const r = await call(port, "node0", "labsecret", "DeclareVersion", "x");
      expect(r.status).to.equal(200);
      expect(r.headers["content-type"]).to.equal("text/xml");
      expect(r.body.equals(wireCase("22-POST-other-path").response.body)).to.equal(true);
    });

    it("serves a client run through the real Python xmlrpc tool", async function () {
      const tool = join(bcfg2RefInstall, "xmlrpc-call.py");
      const X = (...a: string[]) => run("/usr/bin/python3", [tool, site.server.url, ...a], { encoding: "utf8", maxBuffer: 1 << 26 });
      expect((await X("node1", "labsecret", "DeclareVersion", "1.4.0pre2")).stdout.trim()).to.equal("true");
      expect((await X("node1", "labsecret", "GetProbes")).stdout).to.match(/^<probes><probe name="vacfg-context" source="Probes"/);
      expect((await X("node1", "labsecret", "RecvProbeData", '<ProbeData><probe-data name="vacfg-context" source="Probes">{}</probe-data></ProbeData>')).stdout.trim()).to.equal("true");
      expect((await X("node1", "labsecret", "GetConfig")).stdout).to.match(/^<Configuration version="2.0" revision="-1"><Bundle name="base">.*# \/etc\/hosts for node1/s);
      const bad = await X("node0", "wrong", "GetProbes").catch((e: { code: number; stderr: string }) => e);
      expect(bad).to.include({ code: 4 });
      expect((bad as { stderr: string }).stderr).to.match(/HTTP 401/);
      const unknown = await X("node0", "node0secret", "NoSuchMethod").catch((e: { code: number; stderr: string }) => e);
      expect(unknown).to.include({ code: 3 });
      expect((unknown as { stderr: string }).stderr).to.match(/FAULT -32601: Unknown method NoSuchMethod/);
    });

    it("completes a dry run of the real bcfg2 client", async function () {
      const script = join(bcfg2RefInstall, "run-real-client.sh");
      const r = await run(script, [site.server.url, "node2", "labsecret"], {
        env: { ...process.env, BCFG2_REF: bcfg2RefInstall, BCFG2_CA: "" },
        encoding: "utf8",
        maxBuffer: 1 << 26,
      });
      expect(r.stdout + r.stderr).to.match(/Total managed entries: \d+/);
    });
  });

  describe("replays upstream's recorded wire cases", function () {
    const sameBody = ["03-node0-global-password", "04-node0-client-password", "10-methodHelp-GetConfig", "11-unknown-method",
      "12-AssertProfile-nonexistent", "15-GetDecisionList-bogus-mode", "17-RecvStats-minimal", "22-POST-other-path"];
    for (const name of sameBody) {
      it(`${name}: the same status and body as upstream`, async function () {
        const want = wireCase(name).response;
        const r = await replay(port, name);
        expect(r.status).to.equal(want.status);
        expect(r.headers["content-type"]).to.equal(header(want, "Content-type"));
        expect(r.body.toString()).to.equal(want.body.toString());
      });
    }

    for (const name of ["01-no-auth-header", "02-wrong-password", "05-node1-own-password-not-set", "08-password-only-no-colon"]) {
      it(`${name}: 401 with upstream's HTML page, byte for byte, then closes`, async function () {
        const want = wireCase(name).response;
        const r = await replay(port, name);
        expect(r.status).to.equal(401);
        expect(r.reason).to.equal("Unauthorized");
        expect(r.headers["content-type"]).to.equal(header(want, "Content-Type"));
        expect(r.headers.connection).to.equal("close");
        expect(r.body.toString()).to.equal(want.body.toString());
        await stillServes();
      });
    }

    for (const name of ["06-root-user-address-resolution", "07-unknown-client-uuid-autocreated-then-GetProbes"]) {
      it(`${name}: accepted, answered with the repository's probes`, async function () {
        const r = await replay(port, name);
        expect(r.status).to.equal(200);
        expect(result(r.body)).to.match(/^<probes><probe name="vacfg-context"/);
      });
    }

    it("16-RecvProbeData-bad-xml: critical failure -32500 naming the client", async function () {
      const want = fault(wireCase("16-RecvProbeData-bad-xml").response.body);
      const got = fault((await replay(port, "16-RecvProbeData-bad-xml")).body);
      expect(got.faultCode).to.equal(want.faultCode);
      expect(got.faultString).to.match(/^Critical failure: Failed to parse probe data from client node1: /);
    });

    it("13-AssertProfile-non-profile-group: critical failure -32500 for the client", async function () {
      const got = fault((await replay(port, "13-AssertProfile-non-profile-group")).body);
      expect(got.faultCode).to.equal(fault(wireCase("13-AssertProfile-non-profile-group").response.body).faultCode);
      expect(got.faultString).to.match(/^Critical failure: Unable to assert profile for node1: /);
    });

    it("14-GetDecisionList-whitelist-node0 and 19-GetConfig-node2: the same shapes as upstream", async function () {
      const decisions = result((await replay(port, "14-GetDecisionList-whitelist-node0")).body) as unknown[];
      expect(decisions.every((d) => Array.isArray(d) && d.length === 2 && d.every((x) => typeof x === "string"))).to.equal(true);
      const config = result((await replay(port, "19-GetConfig-node2")).body) as string;
      expect(config).to.match(/^<Configuration version="2.0" revision="-1"><Bundle name="/);
    });

    it("21-GET-request: 501 with upstream's page", async function () {
      const want = wireCase("21-GET-request").response;
      const r = await replay(port, "21-GET-request");
      expect(r.status).to.equal(501);
      expect(r.reason).to.equal("Unsupported method ('GET')");
      expect(r.body.toString()).to.equal(want.body.toString());
    });

    it("18-malformed-xmlrpc-body: 500 with an empty body, the reason logged", async function () {
      const r = await replay(port, "18-malformed-xmlrpc-body");
      expect(r.status).to.equal(500);
      expect(r.headers["content-length"]).to.equal("0");
      expect(r.body.length).to.equal(0);
      expect(readFileSync(site.logFile, "utf8")).to.match(/"reason":"[^"]+".*body is not an XML-RPC methodCall/);
      await stillServes();
    });

    it("09-listMethods: the methods upstream lists, core methods sorted, then plugin RMI", async function () {
      const names = result((await replay(port, "09-listMethods")).body) as string[];
      const upstream = result(wireCase("09-listMethods").response.body) as string[];
      const core = upstream.filter((n) => !n.includes(".") && !/fam_debug/.test(n));
      for (const m of core) expect(names, m).to.include(m);
      const firstRmi = names.findIndex((n) => n.includes("."));
      expect(names.slice(0, firstRmi)).to.deep.equal([...names.slice(0, firstRmi)].sort());
      expect(names.slice(firstRmi).every((n) => n.includes("."))).to.equal(true);
      expect(names).to.include("Metadata.list_clients");
    });

    it("20-get_statistics: a struct of timings, to 127.0.0.1", async function () {
      const stats = result((await replay(port, "20-get_statistics")).body) as Record<string, XmlRpcValue>;
      expect(Object.keys(stats).length).to.be.greaterThan(0);
    });
  });

  describe("faults", function () {
    it("names the missing parameter (fault 1)", async function () {
      const r = await call(port, "node0", "node0secret", "DeclareVersion");
      expect(fault(r.body)).to.deep.equal({ faultCode: 1, faultString: "DeclareVersion takes 1 parameter (version), 0 given" });
      const extra = await call(port, "node0", "node0secret", "GetConfig", "surplus");
      expect(fault(extra.body)).to.deep.equal({ faultCode: 1, faultString: "GetConfig takes no parameters, 1 given" });
    });

    it("names a parameter of the wrong type (fault 1)", async function () {
      const body = "<?xml version='1.0'?>\n<methodCall>\n<methodName>RecvStats</methodName>\n<params>\n<param>\n<value><int>7</int></value>\n</param>\n</params>\n</methodCall>\n";
      const r = await request(port, { headers: pythonClientHeaders("node0", "node0secret"), body });
      expect(fault(r.body)).to.deep.equal({ faultCode: 1, faultString: "RecvStats: parameter 1 (statistics) must be a string, got int" });
    });

    it("maps errors to faults: catalogue code, a peer's fault as is, anything else 1", function () {
      expect(faultFor(new VacfgError("CRITICAL", "bad probe"))).to.deep.equal({ faultCode: -32500, faultString: "Critical failure: bad probe" });
      expect(faultFor(new VacfgError("PROFILE", "Critical failure: x"))).to.deep.equal({ faultCode: -32500, faultString: "Critical failure: x" });
      expect(faultFor(new VacfgError("REPO_FILE", "Bundler/a.xml:3: bad"))).to.deep.equal({ faultCode: 1, faultString: "Bundler/a.xml:3: bad" });
      expect(faultFor(new XmlRpcFault(7, "seven"))).to.deep.equal({ faultCode: 7, faultString: "seven" });
      expect(faultFor(new TypeError("boom"))).to.deep.equal({ faultCode: 1, faultString: "boom" });
    });
  });

  describe("hostile input", function () {
    it("refuses a DOCTYPE with entities (billion laughs) without expanding it", async function () {
      const ents = ['<!ENTITY lol "lol">'];
      for (let i = 1; i < 10; i++) ents.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? "" : i - 1};`.repeat(10)}">`);
      const body = `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n${ents.join("\n")}\n]>\n<methodCall><methodName>DeclareVersion</methodName><params><param><value><string>&lol9;</string></value></param></params></methodCall>`;
      const r = await request(port, { headers: pythonClientHeaders("node0", "node0secret"), body });
      expect(r.status).to.equal(500);
      expect(r.body.length).to.equal(0);
      expect(readFileSync(site.logFile, "utf8")).to.match(/DOCTYPE and entity declarations are not allowed/);
      await stillServes();
    });

    it("answers 413 to a body over the limit (declared length), and keeps serving", async function () {
      const r = await request(port, { headers: pythonClientHeaders("node0", "node0secret"), body: methodCall("RecvStats", "x".repeat(LIMIT + 10)) });
      expect(r.status).to.equal(413);
      expect(r.body.toString()).to.match(/exceeds the limit of 262144 bytes/);
      await stillServes();
    });

    it("answers 413 to a chunked body that grows over the limit", async function () {
      const r = await request(port, {
        headers: { ...pythonClientHeaders("node0", "node0secret"), "Transfer-Encoding": "chunked" },
        body: methodCall("RecvStats", "y".repeat(LIMIT * 2)),
      });
      expect(r.status).to.equal(413);
      await stillServes();
    });

    it("answers 401 to an unauthenticated request without reading its body", async function () {
      const r = await request(port, { headers: { "Content-Type": "text/xml" }, body: "z".repeat(LIMIT * 2) });
      expect(r.status).to.equal(401);
      await stillServes();
    });

    it("refuses a body that is not UTF-8, an undecodable Basic header and HTTP garbage", async function () {
      const notUtf8 = await request(port, { headers: pythonClientHeaders("node0", "node0secret"), body: Buffer.from([0x3c, 0xff, 0xfe, 0x3e]) });
      expect(notUtf8.status).to.equal(500);
      const badAuth = await request(port, { headers: { Authorization: "Basic !!!" }, body: methodCall("GetProbes") });
      expect(badAuth.status).to.equal(401);
      const garbage = await rawExchange(port, "\x00\x01GARBAGE\r\n\r\n");
      expect(garbage.text).to.match(/^HTTP\/1\.1 400/);
      await stillServes();
    });
  });

  describe("client certificates", function () {
    it("takes the client name from a certificate the site CA signed (issueClientCertificate)", async function () {
      const pair = issueClientCertificate(site.tlsDir, "node1");
      const r = await request(port, { headers: pythonClientHeaders("bogususer", "labsecret"), body: methodCall("GetConfig"), cert: pair.certPem, key: pair.keyPem });
      expect(result(r.body)).to.match(/# \/etc\/hosts for node1/);
      // cert+password: the certificate alone is not enough.
      const noPw = await request(port, { headers: pythonClientHeaders("bogususer", "wrong"), body: methodCall("GetConfig"), cert: pair.certPem, key: pair.keyPem });
      expect(noPw.status).to.equal(401);
    });

    it("ignores a certificate from another CA", async function () {
      const other = createCa("someone else's CA");
      const pair = issueCertificate(other, { cn: "node1", usage: "client" });
      const r = await request(port, { headers: pythonClientHeaders("node3", "labsecret"), body: methodCall("GetConfig"), cert: pair.certPem, key: pair.keyPem });
      expect(result(r.body)).to.match(/# \/etc\/hosts for node3/);
    });
  });

  describe("admin methods", function () {
    it("are served to 127.0.0.1", async function () {
      const r = await call(port, "node0", "node0secret", "Metadata.list_clients");
      expect(result(r.body)).to.include("node0");
    });

    it("are refused with 401 from another address, and left out of listMethods", async function () {
      const fromOther = { localAddress: "127.0.0.2", headers: pythonClientHeaders("node0", "node0secret") };
      for (const m of ["get_statistics", "Metadata.list_clients", "toggle_debug", "expire_metadata_cache", "Nope.nothing"]) {
        const r = await request(port, { ...fromOther, body: methodCall(m) });
        expect(r.status, m).to.equal(401);
      }
      const ok = await request(port, { ...fromOther, body: methodCall("DeclareVersion", "1.4.0pre2") });
      expect(result(ok.body)).to.equal(true);
      const list = result((await request(port, { ...fromOther, body: methodCall("listMethods") })).body) as string[];
      expect(list).to.include("GetConfig");
      expect(list.filter((n) => n.includes(".") || n.endsWith("_debug") || n === "get_statistics")).to.deep.equal([]);
    });
  });

  describe("connections", function () {
    it("keeps an HTTP/1.1 connection open for a second call", async function () {
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
      try {
        const headers = pythonClientHeaders("node0", "node0secret");
        const a = await request(port, { agent, headers, body: methodCall("DeclareVersion", "1") });
        const b = await request(port, { agent, headers, body: methodCall("GetConfig") });
        expect(a.status).to.equal(200);
        expect(result(b.body)).to.match(/^<Configuration /);
        expect(b.localPort).to.equal(a.localPort);
      } finally {
        agent.destroy();
      }
    });

    // node's https server does so by default; the agent's first call relies on it (agent/proxy.ts)
    it("names HTTP/1.1 in the TLS handshake (ALPN), so a client knows before any answer that connections stay open", async function () {
      const alpn = (offer?: string[]) =>
        new Promise<string | false>((resolve, reject) => {
          const s = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...(offer ? { ALPNProtocols: offer } : {}) }, () => {
            resolve(s.alpnProtocol ?? false);
            s.destroy();
          });
          s.on("error", reject);
        });
      expect(await alpn(["http/1.1"])).to.equal("http/1.1");
      expect(await alpn(["h2", "http/1.1"])).to.equal("http/1.1");
      // a client naming nothing (Python's) gets nothing named, as before
      expect(await alpn()).to.equal(false);
    });

    it("closes after the response for HTTP/1.0 and for Connection: close", async function () {
      const body = methodCall("DeclareVersion", "1");
      const head = (v: string, extra = ""): string =>
        `POST /RPC2 HTTP/${v}\r\nHost: x\r\nAuthorization: ${basic("node0", "node0secret")}\r\nContent-Type: text/xml\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
      const h10 = await rawExchange(port, head("1.0"));
      expect(h10.closedByServer).to.equal(true);
      expect(h10.text).to.match(/^HTTP\/1\.1 200 OK/);
      const close = await rawExchange(port, head("1.1", "Connection: close\r\n"));
      expect(close.closedByServer).to.equal(true);
      // Kept open: a second request on the connection gets its own answer (no wait for a close that
      // does not come, whose length a loaded machine would decide).
      const answers = (t: string) => t.match(/<boolean>1<\/boolean>/g)?.length ?? 0;
      const keep = await rawExchange(port, head("1.1") + head("1.1"), 30_000, (t) => answers(t) === 2);
      expect(keep.closedByServer).to.equal(false);
      expect(answers(keep.text)).to.equal(2);
    });

    it("gzips a large response only when enabled and the client accepts gzip", async function () {
      const plainByDefault = await call(port, "node2", "labsecret", "GetConfig");
      expect(plainByDefault.headers["content-encoding"]).to.equal(undefined);
      const gz = await site.another({ gzipMinBytes: 1024 });
      const r = await call(gz.port, "node2", "labsecret", "GetConfig");
      expect(r.headers["content-encoding"]).to.equal("gzip");
      expect(result(gunzipSync(r.body))).to.match(/# \/etc\/hosts for node2/);
      const small = await call(gz.port, "node2", "labsecret", "DeclareVersion", "1");
      expect(small.headers["content-encoding"]).to.equal(undefined);
      const noGzip = await request(gz.port, { headers: { Authorization: basic("node2", "labsecret") }, body: methodCall("GetConfig") });
      expect(noGzip.headers["content-encoding"]).to.equal(undefined);
      // Python's own xmlrpc.client (the bcfg2 client's transport builds on it) decodes it.
      const py = `import ssl,xmlrpc.client as x
p=x.ServerProxy("https://node2:labsecret@127.0.0.1:${gz.port}",context=ssl._create_unverified_context())
print(p.GetConfig()[:60])`;
      const out = await run("/usr/bin/python3", ["-c", py], { encoding: "utf8" });
      expect(out.stdout).to.match(/^<Configuration version="2.0" revision="-1">/);
    });
  });
});
