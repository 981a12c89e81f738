// The XML-RPC codec against Python's own xmlrpc.client (the upstream client's library) and the recorded transcripts.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import {
  bareMethodCall,
  stringResponse,
  parseMethodCall,
  parseMethodResponse,
  serializeMethodCall,
  serializeMethodResponse,
  XmlRpcDouble,
  type XmlRpcValue,
} from "../../protocol/xmlrpc/index.js";
import { ProtocolError } from "../../protocol/errors.js";
import { transcriptsDir } from "../support/paths.js";

function python(code: string, input = ""): string {
  return execFileSync("python3", ["-c", code], { input, encoding: "utf8" });
}

describe("XML-RPC codec", () => {
  it("reads every type as Python's xmlrpc.client writes it", () => {
    const xml = python(`
import xmlrpc.client, datetime, sys
v = ["s <&> é", 42, -7, True, False, 1.5, 3.0, None, datetime.datetime(2026, 11, 25, 16, 1, 2),
     xmlrpc.client.Binary(b"\\x00\\xffbin"), [1, ["n"]], {"a": 1, "b": {"c": "d"}}]
sys.stdout.write(xmlrpc.client.dumps((v,), methodname="Test.method", allow_none=True))`);
    const call = parseMethodCall(xml);
    expect(call.methodName).to.equal("Test.method");
    const [v] = call.params as [XmlRpcValue[]];
    expect(v[0]).to.equal("s <&> é");
    expect(v[1]).to.equal(42);
    expect(v[2]).to.equal(-7);
    expect(v[3]).to.equal(true);
    expect(v[4]).to.equal(false);
    expect(v[5]).to.be.instanceOf(XmlRpcDouble).and.have.property("value", 1.5);
    expect(v[6]).to.be.instanceOf(XmlRpcDouble).and.have.property("value", 3);
    expect(v[7]).to.equal(null);
    expect((v[8] as Date).toISOString()).to.equal("2026-11-25T16:01:02.000Z");
    expect(Buffer.compare(v[9] as Buffer, Buffer.from([0, 0xff, 0x62, 0x69, 0x6e]))).to.equal(0);
    expect(v[10]).to.deep.equal([1, ["n"]]);
    expect(v[11]).to.deep.equal({ a: 1, b: { c: "d" } });
  });

  it("writes what Python's xmlrpc.client reads back identically", () => {
    const body = serializeMethodCall({
      methodName: "RecvStats",
      params: ["<x a=\"1\">&amp;</x>", 2147483647, new XmlRpcDouble(2), 0.25, true, null, new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), Buffer.from("hi"), [], {}],
    });
    const out = python(
      `import xmlrpc.client, sys, json
p, m = xmlrpc.client.loads(sys.stdin.read(), use_builtin_types=True)
print(json.dumps([m, [repr(x) for x in p]]))`,
      body,
    );
    const [method, reprs] = JSON.parse(out) as [string, string[]];
    expect(method).to.equal("RecvStats");
    expect(reprs).to.deep.equal([
      "'<x a=\"1\">&amp;</x>'",
      "2147483647",
      "2.0",
      "0.25",
      "True",
      "None",
      "datetime.datetime(2026, 1, 2, 3, 4, 5)",
      "b'hi'",
      "[]",
      "{}",
    ]);
  });

  it("accepts bare text as a string and whitespace between structural tags", () => {
    const call = parseMethodCall("<methodCall><methodName> GetConfig </methodName><params>\n <param><value>plain</value></param>\n</params></methodCall>");
    expect(call).to.deep.equal({ methodName: "GetConfig", params: ["plain"] });
  });

  it("round-trips every recorded request and response byte for byte", () => {
    expect(existsSync(transcriptsDir), `${transcriptsDir} (shared/bcfg2-ref) is missing`).to.equal(true);
    let checked = 0;
    for (const scenario of readdirSync(transcriptsDir).filter((d) => /^0[1-4]-/.test(d) && !d.endsWith(".txt"))) {
      for (const f of readdirSync(join(transcriptsDir, scenario))) {
        const body = readFileSync(join(transcriptsDir, scenario, f), "utf8");
        if (f.endsWith(".request.xml")) expect(serializeMethodCall(parseMethodCall(body)), f).to.equal(body);
        else if (f.endsWith(".response.xml")) expect(serializeMethodResponse(parseMethodResponse(body)), f).to.equal(body);
        else continue;
        checked++;
      }
    }
    expect(checked).to.be.greaterThan(30);
  });

  it("serializes faults exactly as the upstream server does", () => {
    const body = serializeMethodResponse({ kind: "fault", faultCode: -32601, faultString: "Unknown method NoSuchMethod" });
    expect(body).to.equal(
      "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>-32601</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>Unknown method NoSuchMethod</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n",
    );
    expect(parseMethodResponse(body)).to.deep.equal({ kind: "fault", faultCode: -32601, faultString: "Unknown method NoSuchMethod" });
  });

  const bad: Array<[string, string, RegExp]> = [
    ["not XML", "hello", /XML|root|expected/i],
    ["unknown type", "<methodCall><methodName>x</methodName><params><param><value><float>1</float></value></param></params></methodCall>", /unknown XML-RPC type <float>/],
    ["bad int", "<methodCall><methodName>x</methodName><params><param><value><int>1.5</int></value></param></params></methodCall>", /not an integer/],
    ["bad boolean", "<methodCall><methodName>x</methodName><params><param><value><boolean>yes</boolean></value></param></params></methodCall>", /not 0 or 1/],
    ["no methodName", "<methodCall><params/></methodCall>", /no <methodName>/],
    ["wrong root", "<methodResponse><params/></methodResponse>", /not <methodCall>/],
    ["unclosed", "<methodCall><methodName>x</methodName>", /methodCall:1: unclosed tag/i],
    ["entity", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><methodCall><methodName>&a;</methodName></methodCall>', /DOCTYPE/],
  ];
  for (const [what, body, msg] of bad) {
    it(`refuses a methodCall with ${what}, naming the cause`, () => {
      expect(() => parseMethodCall(body)).to.throw(ProtocolError, msg);
    });
  }

  it("refuses a body over the size limit before parsing it", () => {
    const body = serializeMethodCall({ methodName: "x", params: ["a".repeat(2048)] });
    expect(() => parseMethodCall(body, { maxBytes: 1024 })).to.throw(ProtocolError, /exceeds 1024 bytes/);
  });

  it("refuses a fault without faultCode/faultString", () => {
    const body = "<methodResponse><fault><value><struct><member><name>x</name><value>1</value></member></struct></value></fault></methodResponse>";
    expect(() => parseMethodResponse(body)).to.throw(ProtocolError, /faultCode/);
  });
});

describe("XML-RPC: parameterless calls recognised by their form (bareMethodCall)", () => {
  const pythonCalls = python(`
import xmlrpc.client, json, sys
sys.stdout.write(json.dumps([xmlrpc.client.dumps((), methodname=m) for m in ["GetConfig", "GetProbes", "listMethods", "Packages.Refresh"]]))`);
  it("gives what the parser gives for every call Python's xmlrpc.client and the agent write without parameters", () => {
    const docs = [...(JSON.parse(pythonCalls) as string[]), serializeMethodCall({ methodName: "GetConfig", params: [] })];
    docs.push(`<?xml version="1.0" encoding="UTF-8"?>\r\n<methodCall><methodName>GetConfig</methodName><params/></methodCall>`);
    docs.push(`<?xml version='1.0'?><methodCall><methodName>GetConfig</methodName></methodCall>`);
    for (const doc of docs) {
      const bare = bareMethodCall(Buffer.from(doc));
      expect(bare, doc).to.not.equal(undefined);
      expect(bare, doc).to.deep.equal(parseMethodCall(doc));
    }
  });

  it("leaves everything else to the parser", () => {
    const docs = [
      serializeMethodCall({ methodName: "DeclareVersion", params: ["1.4.0"] }),
      `<?xml version='1.0'?>\n<methodCall>\n<methodName> GetConfig </methodName>\n</methodCall>\n`,
      `<?xml version='1.0'?>\n<methodCall>\n<methodName>GetConfig</methodName>\n<params>\n</params>\n</methodCall>\n<!-- x -->`,
      `<?xml version='1.0' encoding='latin-1'?>\n<methodCall><methodName>GetConfig</methodName></methodCall>`,
      `<?xml version='1.0'?>\n<!DOCTYPE methodCall [<!ENTITY e "GetConfig">]><methodCall><methodName>&e;</methodName></methodCall>`,
      `<?xml version='1.0'?>\n<methodCall>\u00a0<methodName>GetConfig</methodName></methodCall>`,
      `<?xml version='1.0'?><methodCall><methodName>GetConfig</methodName><params></param></methodCall>`,
      `<?xml version='1.0'?><methodCall><methodName>GetConfig</methodName>${" ".repeat(600)}</methodCall>`,
    ];
    for (const doc of docs) expect(bareMethodCall(Buffer.from(doc)), doc).to.equal(undefined);
  });
});

describe("XML-RPC: responses of one string read without a parser (stringResponse)", () => {
  // Strings made of what a configuration and its edge cases hold: markup characters, entities
  // already escaped once, CR, tabs, control characters, "]]>", characters beyond ASCII and beyond
  // the BMP.
  const pieces = ["a", " ", "\n", "\t", "\r", "\r\n", "<", ">", "&", '"', "'", "&amp;", "&#13;", "]]>", "é", "\u{1f600}", "\u0001", "\ufffd", "<Path name='/etc/hosts'/>"];
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const strings = ["", "plain", ...Array.from({ length: 250 }, () => Array.from({ length: 1 + Math.floor(random() * 12) }, () => pieces[Math.floor(random() * pieces.length)]).join(""))];
  // Python's xmlrpc.client writes each as upstream's server does, and reads it back as the reference (strings Python refuses to write are left out)
  const cases = JSON.parse(
    python(
      `
import xmlrpc.client, json, sys
out = []
for s in json.load(sys.stdin):
    try:
        doc = xmlrpc.client.dumps((s,), methodresponse=True)
        value = xmlrpc.client.loads(doc)[0][0]
    except Exception:
        continue
    out.append([doc, value])
sys.stdout.write(json.dumps(out))`,
      JSON.stringify(strings),
    ),
  ) as [string, string][];

  it("gives what Python's xmlrpc.client reads, for every string as Python writes it, with or without the parser", () => {
    expect(cases.length).to.be.greaterThan(150);
    let plain = 0;
    for (const [doc, value] of cases) {
      expect(parseMethodResponse(doc), JSON.stringify(doc)).to.deep.equal({ kind: "result", value });
      const fast = stringResponse(doc);
      if (fast !== undefined) {
        plain++;
        expect(fast, JSON.stringify(doc)).to.equal(value);
      }
    }
    // most go without the parser; those with CR, control characters or other references do not
    expect(plain).to.be.greaterThan(cases.length / 4);
    expect(stringResponse(serializeMethodResponse({ kind: "result", value: "<Configuration>&amp; é</Configuration>" }))).to.equal("<Configuration>&amp; é</Configuration>");
  });

  it("leaves to the parser every other response, which still refuses what it refuses", () => {
    const wrap = (inner: string) => `<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n${inner}\n</param>\n</params>\n</methodResponse>\n`;
    const others = [
      wrap("<value><string>a\r\nb</string></value>"),
      wrap("<value><string>a&#10;b</string></value>"),
      wrap("<value><string><![CDATA[x]]></string></value>"),
      wrap("<value><string>a<!-- c -->b</string></value>"),
      wrap("<value><int>1</int></value>"),
      wrap("<value><string>x</string></value>\n</param>\n<param>\n<value><string>y</string></value>"),
      `<?xml version='1.0' encoding='latin-1'?>\n<methodResponse><params><param><value><string>x</string></value></param></params></methodResponse>`,
      `<?xml version='1.0'?>\n<!DOCTYPE methodResponse [<!ENTITY e "x">]><methodResponse><params><param><value><string>&e;</string></value></param></params></methodResponse>`,
      serializeMethodResponse({ kind: "fault", faultCode: 1, faultString: "no" }),
    ];
    for (const doc of others) expect(stringResponse(doc), doc).to.equal(undefined);
    expect(parseMethodResponse(others[0]!)).to.deep.equal({ kind: "result", value: "a\nb" });
    expect(parseMethodResponse(others[1]!)).to.deep.equal({ kind: "result", value: "a\nb" });
    expect(() => parseMethodResponse(others[5]!)).to.throw(ProtocolError, /exactly one param/);
    expect(() => parseMethodResponse(others[7]!)).to.throw(ProtocolError);
    expect(() => parseMethodResponse(wrap("<value><string>a]]>b</string></value>"))).to.throw(ProtocolError);
    // the limits hold as before: a body over the byte limit is refused, not read around the parser
    expect(() => parseMethodResponse(wrap("<value><string>xxxx</string></value>"), { maxBytes: 40 })).to.throw(ProtocolError, /exceeds 40 bytes/);
  });
});
