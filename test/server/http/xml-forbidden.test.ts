// No answer carries a character XML 1.0 forbids: Python's xmlrpc.client (the upstream client's
// library) reads every answer the server gives to requests holding NUL or ESC, and a Cfg file
// holding ESC reaches the client intact (as base64).
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { expect } from "chai";
import { makeSite, SITE_PASSWORD, startSiteServer, writeFiles, type ReportSite } from "../../../harness/report-site.js";
import { serializeMethodResponse } from "../../../protocol/xmlrpc/serializer.js";
import type { StartedServer } from "../../../server/start-server.js";

const MOTD = "\x1b[1mWelcome\x1b[0m\x00 to the appliance\n";

// Python's own client sends these strings raw, as it does for any str: the server must answer
// each in a form xmlrpc.client can read (a result, a fault, or an HTTP error), never unreadable XML.
const CLIENT = String.raw`
import base64, json, re, ssl, sys, xmlrpc.client as x
url, user, password = sys.argv[1:4]
proxy = x.ServerProxy(url.replace("https://", "https://%s:%s@" % (user, password)) + "/RPC2",
                      context=ssl._create_unverified_context(), allow_none=True)
calls = [("DeclareVersion", "\x00"), ("AssertProfile", "\x01\x02\x1b"), ("GetDecisionList", "white\x00list"),
         ("RecvProbeData", "<ProbeData><probe-data name='role' source='Probes'>\x1b</probe-data></ProbeData>"),
         ("RecvStats", "<upload-statistics>\x00</upload-statistics>"), ("GetConfig",)]
for c in calls:
    try:
        r = getattr(proxy, c[0])(*c[1:])
        if c[0] == "GetConfig":
            m = re.search(r'<Path [^>]*name="/etc/motd"[^>]*encoding="base64"[^>]*>([^<]*)</Path>', r)
            r = base64.b64decode(m.group(1)).decode("utf-8") if m else r
        out = ["result", r]
    except x.Fault as f:
        out = ["fault", f.faultCode, f.faultString]
    except x.ProtocolError as e:
        out = ["http", e.errcode]
    except Exception as e:
        out = ["unreadable", type(e).__name__, str(e)]
    print(json.dumps([c[0], out]))
`;

describe("answers never carry characters XML 1.0 forbids", function () {
  this.timeout(180_000);
  let site: ReportSite;
  let server: StartedServer;

  before(async () => {
    site = makeSite();
    writeFiles(site.config.settings.repo, { "Cfg/etc/motd/motd": MOTD });
    server = await startSiteServer(site);
  });
  after(async () => {
    await server?.close();
    site?.cleanup();
  });

  it("answers Python's client readably when its strings hold NUL or ESC, and serves a file holding ESC intact", async function () {
    // Asynchronously: the server runs in this process.
    const { stdout: out } = await promisify(execFile)("python3", ["-c", CLIENT, server.url, "node1", SITE_PASSWORD], { encoding: "utf8" });
    const answers = Object.fromEntries(out.trim().split("\n").map((l) => JSON.parse(l) as [string, unknown[]]));
    // A request body holding a character XML forbids is not XML: refused as upstream's expat refuses it (HTTP 500).
    for (const m of ["DeclareVersion", "AssertProfile", "GetDecisionList", "RecvProbeData", "RecvStats"]) {
      expect(answers[m], m).to.deep.equal(["http", 500]);
    }
    expect(answers.GetConfig).to.deep.equal(["result", MOTD]);
  });

  it("replaces forbidden characters in a server-made string by U+FFFD, so Python reads the fault", function () {
    const forbidden = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).filter((c) => !"\t\n\r".includes(c)).join("") + "\uFFFE\uFFFF\uD800";
    const body = serializeMethodResponse({ kind: "fault", faultCode: 1, faultString: `profile ${forbidden} unknown` });
    const read = execFileSync(
      "python3",
      ["-c", "import sys, json, xmlrpc.client as x\ntry:\n    x.loads(sys.stdin.read())\nexcept x.Fault as f:\n    print(json.dumps(f.faultString))"],
      { input: body, encoding: "utf8" },
    );
    expect(JSON.parse(read)).to.equal(`profile ${"\uFFFD".repeat(forbidden.length)} unknown`);
  });
});
