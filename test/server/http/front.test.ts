// The HTTPS XML-RPC front on its own: the real TLS server and dispatcher in front of a small
// deterministic ClientRunApi written here, checked against upstream's recorded wire cases.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { expect } from "chai";
import { pino } from "pino";
import { VacfgError } from "../../../protocol/errors.js";
import { parseMethodResponse } from "../../../protocol/xmlrpc/parser.js";
import type { XmlRpcValue } from "../../../protocol/xmlrpc/values.js";
import type { AdminMethod, ClientRunApi } from "../../../server/core/client-api.js";
import type { AuthRequest } from "../../../server/core/metadata.js";
import { serveApi, type RunningServer } from "../../../server/http/serve.js";
import { createCa, issueCertificate, type PemPair } from "../../../server/admin/tls-material.js";
import { bcfg2RefInstall } from "../../support/paths.js";
import { basic, call, header, methodCall, pythonClientHeaders, rawExchange, replay, request, wireCase } from "./wire.js";

const run = promisify(execFile);

/** A deterministic client-run API: the lab's passwords, fixed documents, and one admin method. */
class RecordingApi implements ClientRunApi {
  lastAuth?: AuthRequest;
  closed = false;
  async authenticate(req: AuthRequest): Promise<string | undefined> {
    this.lastAuth = req;
    const name = req.certCN ?? (req.user === "root" ? "localhost" : req.user);
    if (name === "node0" && req.password === "node0secret") return name;
    return req.password === "labsecret" ? name : undefined;
  }
  async assertProfile(client: string, profile: string): Promise<boolean> {
    if (profile !== "torque-client") throw new VacfgError("PROFILE", `Unable to assert profile for ${client}: Profile group ${profile} does not exist`);
    return true;
  }
  async declareVersion(): Promise<boolean> {
    return true;
  }
  async getProbes(): Promise<string> {
    return "<probes/>";
  }
  async recvProbeData(): Promise<boolean> {
    throw new Error("probe store is read-only in this test");
  }
  async getDecisionList(): Promise<Array<[string, string]>> {
    return [["Path", "/etc/motd"]];
  }
  async getConfig(client: string): Promise<string> {
    return `<Configuration version="2.0" revision="-1" client="${client}">${"<Path name=\"/x\"/>".repeat(200)}</Configuration>`;
  }
  async recvStats(): Promise<boolean> {
    return true;
  }
  adminMethods(): Record<string, AdminMethod> {
    return {
      get_statistics: { help: "Timing statistics.", call: async () => ({ "Core:GetConfig": [1, 2, 3, 4] }) },
      "Metadata.list_clients": { help: "All clients.", call: async (...args: XmlRpcValue[]) => ["node0", ...args.map(String)] },
    };
  }
  methodHelp(name: string): string | undefined {
    return name === "GetConfig" ? " Build config for a client." : undefined;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function result(body: Buffer): XmlRpcValue {
  const r = parseMethodResponse(body.toString("utf8"));
  if (r.kind !== "result") throw new Error(`fault ${r.faultCode}: ${r.faultString}`);
  return r.value;
}

function fault(body: Buffer): { faultCode: number; faultString: string } {
  const r = parseMethodResponse(body.toString("utf8"));
  if (r.kind !== "fault") throw new Error(`expected a fault, got ${JSON.stringify(r)}`);
  return r;
}

describe("HTTPS XML-RPC front", function () {
  let tmp: string;
  let ca: PemPair;
  let serverPair: PemPair;
  let api: RecordingApi;
  let srv: RunningServer;
  let logFile: string;
  const LIMIT = 256 * 1024;

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), "vacfg-front-"));
    logFile = join(tmp, "server.log");
    ca = createCa("test site CA");
    serverPair = issueCertificate(ca, { cn: "localhost", altNames: ["localhost", "127.0.0.1"], usage: "server" });
    api = new RecordingApi();
    const logger = pino({ level: "debug" }, pino.destination({ dest: logFile, sync: true }));
    srv = await serveApi({
      api,
      listen: { host: "127.0.0.1", port: 0 },
      tls: { cert: serverPair.certPem, key: serverPair.keyPem, ca: ca.certPem },
      bodyLimit: LIMIT,
      logger,
    });
  });

  after(async function () {
    await srv?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function stillServes(): Promise<void> {
    const r = await call(srv.port, "node0", "node0secret", "DeclareVersion", "1.4.0pre2");
    expect(r.status).to.equal(200);
    expect(result(r.body)).to.equal(true);
  }

  describe("as the Python client calls it", function () {
    it("answers DeclareVersion with the exact body upstream sends (wire case 22)", async function () {
      const r = await call(srv.port, "node0", "labsecret", "DeclareVersion", "x");
      expect(r.status).to.equal(200);
      expect(r.headers["content-type"]).to.equal("text/xml");
      expect(r.body.equals(wireCase("22-POST-other-path").response.body)).to.equal(true);
    });

    it("passes the caller's credentials and peer address to authenticate", async function () {
      await call(srv.port, "node0", "labsecret", "GetProbes");
      expect(api.lastAuth).to.deep.equal({ user: "node0", password: "labsecret", address: "127.0.0.1" });
    });

    it("works with the real Python xmlrpc client tool", async function () {
      const tool = join(bcfg2RefInstall, "xmlrpc-call.py");
      const X = (...a: string[]) => run("/usr/bin/python3", [tool, srv.url, ...a], { encoding: "utf8" });
      expect((await X("node0", "node0secret", "DeclareVersion", "1.4.0pre2")).stdout.trim()).to.equal("true");
      expect((await X("node1", "labsecret", "GetConfig")).stdout).to.match(/^<Configuration version="2.0" revision="-1" client="node1">/);
      expect(JSON.parse((await X("node1", "labsecret", "GetDecisionList", "whitelist")).stdout)).to.deep.equal([["Path", "/etc/motd"]]);
      const bad = await X("node0", "wrong", "GetProbes").catch((e: { code: number; stderr: string }) => e);
      expect(bad).to.include({ code: 4 });
      expect((bad as { stderr: string }).stderr).to.match(/HTTP 401/);
      const unknown = await X("node0", "node0secret", "NoSuchMethod").catch((e: { code: number; stderr: string }) => e);
      expect(unknown).to.include({ code: 3 });
      expect((unknown as { stderr: string }).stderr).to.match(/FAULT -32601: Unknown method NoSuchMethod/);
    });
  });

  describe("replays upstream's recorded wire cases", function () {
    for (const name of ["01-no-auth-header", "02-wrong-password", "08-password-only-no-colon"]) {
      it(`${name}: 401 with upstream's HTML page, byte for byte`, async function () {
        const want = wireCase(name).response;
        const r = await replay(srv.port, name);
        expect(r.status).to.equal(401);
        expect(r.reason).to.equal("Unauthorized");
        expect(r.headers["content-type"]).to.equal(header(want, "Content-Type"));
        expect(r.headers.connection).to.equal("close");
        expect(r.body.toString()).to.equal(want.body.toString());
        await stillServes();
      });
    }

    it("21-GET-request: 501 with upstream's page", async function () {
      const want = wireCase("21-GET-request").response;
      const r = await replay(srv.port, "21-GET-request");
      expect(r.status).to.equal(501);
      expect(r.reason).to.equal("Unsupported method ('GET')");
      expect(r.body.toString()).to.equal(want.body.toString());
    });

    it("18-malformed-xmlrpc-body: 500 with an empty body, reason logged", async function () {
      const r = await replay(srv.port, "18-malformed-xmlrpc-body");
      expect(r.status).to.equal(500);
      expect(r.headers["content-length"]).to.equal("0");
      expect(r.body.length).to.equal(0);
      expect(readFileSync(logFile, "utf8")).to.match(/"reason":"[^"]+".*body is not an XML-RPC methodCall/);
      await stillServes();
    });

    it("11-unknown-method: fault -32601, byte for byte", async function () {
      const r = await replay(srv.port, "11-unknown-method");
      expect(r.status).to.equal(200);
      expect(r.body.toString()).to.equal(wireCase("11-unknown-method").response.body.toString());
    });

    it("22-POST-other-path: the path is ignored", async function () {
      const r = await replay(srv.port, "22-POST-other-path");
      expect(r.body.toString()).to.equal(wireCase("22-POST-other-path").response.body.toString());
    });

    it("09-listMethods: the client methods, introspection and (from localhost) admin methods", async function () {
      const r = await replay(srv.port, "09-listMethods");
      const names = result(r.body) as string[];
      const upstream = result(wireCase("09-listMethods").response.body) as string[];
      for (const m of ["AssertProfile", "DeclareVersion", "GetConfig", "GetDecisionList", "GetProbes", "RecvProbeData", "RecvStats", "listMethods", "methodHelp", "get_statistics"]) {
        expect(names, m).to.include(m);
        expect(upstream, m).to.include(m);
      }
      expect(names).to.include("Metadata.list_clients");
      // Upstream order: core methods sorted, then plugin RMI.
      expect(names.indexOf("Metadata.list_clients")).to.equal(names.length - 1);
    });

    it("10-methodHelp-GetConfig: the core's help text; unknown names give an empty string", async function () {
      const r = await replay(srv.port, "10-methodHelp-GetConfig");
      expect(result(r.body)).to.equal(" Build config for a client.");
      const none = await call(srv.port, "node0", "node0secret", "methodHelp", "Nope");
      expect(result(none.body)).to.equal("");
    });
  });

  describe("faults", function () {
    it("names the missing parameter (fault 1)", async function () {
      const r = await call(srv.port, "node0", "node0secret", "DeclareVersion");
      expect(fault(r.body)).to.deep.equal({ kind: "fault", faultCode: 1, faultString: "DeclareVersion takes 1 parameter (version), 0 given" });
    });

    it("names a parameter of the wrong type (fault 1)", async function () {
      const body = "<?xml version='1.0'?>\n<methodCall>\n<methodName>RecvStats</methodName>\n<params>\n<param>\n<value><int>7</int></value>\n</param>\n</params>\n</methodCall>\n";
      const r = await request(srv.port, { headers: pythonClientHeaders("node0", "node0secret"), body });
      expect(fault(r.body).faultString).to.equal("RecvStats: parameter 1 (statistics) must be a string, got int");
    });

    it("sends a catalogue error with its fault code, worded as upstream's critical failure", async function () {
      const r = await call(srv.port, "node1", "labsecret", "AssertProfile", "no-such-group");
      expect(fault(r.body)).to.deep.include({
        faultCode: -32500,
        faultString: "Critical failure: Unable to assert profile for node1: Profile group no-such-group does not exist",
      });
    });

    it("sends any other error as fault 1 with its message", async function () {
      const r = await call(srv.port, "node1", "labsecret", "RecvProbeData", "<ProbeData/>");
      expect(fault(r.body)).to.deep.include({ faultCode: 1, faultString: "probe store is read-only in this test" });
    });
  });

  describe("hostile input", function () {
    it("refuses a DOCTYPE with entities (billion laughs) without expanding it", async function () {
      const ents = ['<!ENTITY lol "lol">'];
      for (let i = 1; i < 10; i++) ents.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? "" : i - 1};`.repeat(10)}">`);
      const body = `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n${ents.join("\n")}\n]>\n<methodCall><methodName>DeclareVersion</methodName><params><param><value><string>&lol9;</string></value></param></params></methodCall>`;
      const t0 = Date.now();
      const r = await request(srv.port, { headers: pythonClientHeaders("node0", "node0secret"), body });
      expect(r.status).to.equal(500);
      expect(r.body.length).to.equal(0);
      expect(Date.now() - t0).to.be.below(5000);
      expect(readFileSync(logFile, "utf8")).to.match(/DOCTYPE and entity declarations are not allowed/);
      await stillServes();
    });

    it("answers 413 to a body over the limit (declared length), and keeps serving", async function () {
      const r = await request(srv.port, { headers: pythonClientHeaders("node0", "node0secret"), body: methodCall("RecvStats", "x".repeat(LIMIT + 10)) });
      expect(r.status).to.equal(413);
      expect(r.body.toString()).to.match(/exceeds the limit of 262144 bytes/);
      await stillServes();
    });

    it("answers 413 to a chunked body that grows over the limit", async function () {
      const r = await request(srv.port, {
        headers: { ...pythonClientHeaders("node0", "node0secret"), "Transfer-Encoding": "chunked" },
        body: methodCall("RecvStats", "y".repeat(LIMIT * 2)),
      });
      expect(r.status).to.equal(413);
      await stillServes();
    });

    it("does not read the body of an unauthenticated request", async function () {
      const r = await request(srv.port, { headers: { "Content-Type": "text/xml" }, body: "z".repeat(LIMIT * 2) });
      expect(r.status).to.equal(401);
      await stillServes();
    });

    it("treats a body that is not UTF-8, an undecodable Basic header and HTTP garbage as refusals", async function () {
      const notUtf8 = await request(srv.port, { headers: pythonClientHeaders("node0", "node0secret"), body: Buffer.from([0x3c, 0xff, 0xfe, 0x3e]) });
      expect(notUtf8.status).to.equal(500);
      const badAuth = await request(srv.port, { headers: { Authorization: "Basic !!!" }, body: methodCall("GetProbes") });
      expect(badAuth.status).to.equal(401);
      const garbage = await rawExchange(srv.port, "\x00\x01GARBAGE\r\n\r\n");
      expect(garbage.text).to.match(/^HTTP\/1\.1 400/);
      await stillServes();
    });
  });

  describe("client certificates", function () {
    it("takes the CN of a certificate the site CA signed", async function () {
      const pair = issueCertificate(ca, { cn: "node1", usage: "client" });
      const r = await request(srv.port, {
        headers: pythonClientHeaders("bogususer", "labsecret"),
        body: methodCall("GetConfig"),
        cert: pair.certPem,
        key: pair.keyPem,
      });
      expect(api.lastAuth?.certCN).to.equal("node1");
      expect(result(r.body)).to.match(/client="node1"/);
    });

    it("ignores a certificate from another CA", async function () {
      const other = createCa("someone else's CA");
      const pair = issueCertificate(other, { cn: "node1", usage: "client" });
      const r = await request(srv.port, {
        headers: pythonClientHeaders("node3", "labsecret"),
        body: methodCall("GetConfig"),
        cert: pair.certPem,
        key: pair.keyPem,
      });
      expect(api.lastAuth?.certCN).to.equal(undefined);
      expect(result(r.body)).to.match(/client="node3"/);
    });
  });

  describe("admin methods", function () {
    it("are served to 127.0.0.1", async function () {
      const r = await call(srv.port, "node0", "node0secret", "Metadata.list_clients", "extra");
      expect(result(r.body)).to.deep.equal(["node0", "extra"]);
    });

    it("are refused with 401 from another address, and left out of listMethods", async function () {
      const fromOther = { localAddress: "127.0.0.2", headers: pythonClientHeaders("node0", "node0secret") };
      for (const m of ["get_statistics", "Metadata.list_clients", "toggle_debug", "Nope.nothing"]) {
        const r = await request(srv.port, { ...fromOther, body: methodCall(m) });
        expect(r.status, m).to.equal(401);
      }
      expect(api.lastAuth?.address).to.equal("127.0.0.2");
      const ok = await request(srv.port, { ...fromOther, body: methodCall("DeclareVersion", "1.4.0pre2") });
      expect(result(ok.body)).to.equal(true);
      const list = result((await request(srv.port, { ...fromOther, body: methodCall("listMethods") })).body) as string[];
      expect(list).to.include("GetConfig");
      expect(list).to.not.include("get_statistics");
      expect(list).to.not.include("Metadata.list_clients");
    });
  });

  describe("connections", function () {
    it("keeps an HTTP/1.1 connection open for a second call", async function () {
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
      try {
        const headers = pythonClientHeaders("node0", "node0secret");
        const a = await request(srv.port, { agent, headers, body: methodCall("DeclareVersion", "1") });
        const b = await request(srv.port, { agent, headers, body: methodCall("GetProbes") });
        expect(a.status).to.equal(200);
        expect(result(b.body)).to.equal("<probes/>");
        expect(b.localPort).to.equal(a.localPort);
      } finally {
        agent.destroy();
      }
    });

    it("closes after the response for HTTP/1.0 and for Connection: close", async function () {
      const body = methodCall("DeclareVersion", "1");
      const head = (v: string, extra = ""): string =>
        `POST /RPC2 HTTP/${v}\r\nHost: x\r\nAuthorization: ${basic("node0", "node0secret")}\r\nContent-Type: text/xml\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
      const h10 = await rawExchange(srv.port, head("1.0"));
      expect(h10.closedByServer).to.equal(true);
      expect(h10.text).to.match(/^HTTP\/1\.1 200 OK/);
      const close = await rawExchange(srv.port, head("1.1", "Connection: close\r\n"));
      expect(close.closedByServer).to.equal(true);
      const keep = await rawExchange(srv.port, head("1.1"), 1000);
      expect(keep.closedByServer).to.equal(false);
      expect(keep.text).to.match(/<boolean>1<\/boolean>/);
    });

    it("gzips a large response when enabled and the client accepts gzip (off by default)", async function () {
      const plainByDefault = await call(srv.port, "node2", "labsecret", "GetConfig");
      expect(plainByDefault.headers["content-encoding"]).to.equal(undefined);
      const gz = await serveApi({
        api: new RecordingApi(),
        listen: { host: "127.0.0.1", port: 0 },
        tls: { cert: serverPair.certPem, key: serverPair.keyPem, ca: ca.certPem },
        gzipMinBytes: 1024,
        logger: pino({ level: "silent" }),
      });
      try {
        const r = await call(gz.port, "node2", "labsecret", "GetConfig");
        expect(r.headers["content-encoding"]).to.equal("gzip");
        expect(result(gunzipSync(r.body))).to.match(/client="node2"/);
        const small = await call(gz.port, "node2", "labsecret", "DeclareVersion", "1");
        expect(small.headers["content-encoding"]).to.equal(undefined);
        const noGzip = await request(gz.port, { headers: { Authorization: basic("node2", "labsecret") }, body: methodCall("GetConfig") });
        expect(noGzip.headers["content-encoding"]).to.equal(undefined);
        // Python's own xmlrpc.client (which the bcfg2 client's transport builds on) decodes it.
        const py = `import ssl,xmlrpc.client as x
p=x.ServerProxy("https://node2:labsecret@127.0.0.1:${gz.port}",context=ssl._create_unverified_context())
print(p.GetConfig()[:60])`;
        const out = await run("/usr/bin/python3", ["-c", py], { encoding: "utf8" });
        expect(out.stdout).to.match(/^<Configuration version="2.0" revision="-1" client="node2">/);
      } finally {
        await gz.close();
      }
    });
  });
});
