// Agent-side lookup: in a sandbox root, the patched file wins over the kernel command line,
// which wins over the DHCP-provided location, which wins over a NoCloud seed.
import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { locateParameters } from "../../../agent/context/locate-params.js";
import { createCa, issueCertificate } from "../../../server/admin/tls-material.js";
import { encodeCtxArg } from "../../../protocol/ctx-cmdline.js";
import { parameterFileToJson, parseParameterFile, serializeParameterFile, signedParametersFromJson, type ParameterFile } from "../../../protocol/params.js";
import { parametersRefusal, signParameters } from "../../../protocol/params-signature.js";
import { noCloudSeed } from "../../../hypervisor/ctx/nocloud.js";
import { FIGURE1 } from "../../support/figure1.js";

function withDomain(domain: string): ParameterFile {
  const p = parseParameterFile(FIGURE1);
  p.set("domain", { kind: "value", value: domain });
  return p;
}

function put(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

describe("locateParameters (agent/context/locate-params.ts)", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "vacfg-root-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("finds nothing in an empty root", async () => {
    expect(await locateParameters({ root, cmdline: "root=/dev/sda1" })).to.equal(undefined);
  });

  it("takes sources in the fixed order: file, cmdline, DHCP, NoCloud", async () => {
    // every source present, each with a different domain so we can tell which one won
    put(join(root, "etc/vacfg/context.xml"), serializeParameterFile(withDomain("from-file")));
    put(join(root, "proc/cmdline"), `root=/dev/vda1 ${encodeCtxArg(withDomain("from-cmdline"))}\n`);
    put(join(root, "srv/ctx/node1.xml"), serializeParameterFile(withDomain("from-dhcp")));
    put(join(root, "run/vacfg/dhcp-ctx-url"), "file:///srv/ctx/node1.xml\n");
    put(join(root, "var/lib/cloud/seed/nocloud/user-data"), noCloudSeed(withDomain("from-nocloud"), { hostname: "node1", fqdn: "node1.cluster", secret: false }).userData);

    const domainOf = async () => {
      const r = await locateParameters({ root });
      const d = r?.params.get("domain");
      return [r?.source, d?.kind === "value" ? d.value : undefined];
    };
    expect(await domainOf()).to.deep.equal(["file", "from-file"]);
    unlinkSync(join(root, "etc/vacfg/context.xml"));
    expect(await domainOf()).to.deep.equal(["cmdline", "from-cmdline"]);
    unlinkSync(join(root, "proc/cmdline"));
    expect(await domainOf()).to.deep.equal(["dhcp", "from-dhcp"]);
    unlinkSync(join(root, "run/vacfg/dhcp-ctx-url"));
    expect(await domainOf()).to.deep.equal(["nocloud", "from-nocloud"]);
  });

  it("keeps the site's signature through every delivery: patched file, kernel command line, DHCP file, NoCloud", async () => {
    const key = generateKeyPairSync("ed25519");
    const signed = (domain: string) => {
      const p = withDomain(domain);
      return { p, sig: signParameters(p, "node1.cluster", key.privateKey) };
    };
    const f = signed("from-file");
    const c = signed("from-cmdline");
    const d = signed("from-dhcp");
    const n = signed("from-nocloud");
    put(join(root, "etc/vacfg/context.xml"), serializeParameterFile(f.p, f.sig));
    put(join(root, "proc/cmdline"), `root=/dev/vda1 ${encodeCtxArg(c.p, c.sig)}\n`);
    put(join(root, "srv/ctx/node1.xml"), serializeParameterFile(d.p, d.sig));
    put(join(root, "run/vacfg/dhcp-ctx-url"), "file:///srv/ctx/node1.xml\n");
    put(join(root, "var/lib/cloud/seed/nocloud/user-data"), noCloudSeed(n.p, { hostname: "node1", fqdn: "node1.cluster", secret: false, signature: n.sig }).userData);
    for (const [file, want] of [["etc/vacfg/context.xml", f], ["proc/cmdline", c], ["run/vacfg/dhcp-ctx-url", d], ["", n]] as const) {
      const r = (await locateParameters({ root }))!;
      expect(r.signature, r.source).to.deep.equal(want.sig);
      expect(parametersRefusal(r, ["node1.cluster"], [key.publicKey]), r.source).to.equal(undefined);
      // what the agent sends (the JSON form) verifies as well
      const sent = signedParametersFromJson(JSON.parse(JSON.stringify(parameterFileToJson(r.params, r.signature))));
      expect(parametersRefusal(sent, ["node1.cluster"], [key.publicKey]), r.source).to.equal(undefined);
      if (file) unlinkSync(join(root, file));
    }
  });

  it("uses a given command line string instead of /proc/cmdline, and a mounted cidata dir", async () => {
    const r = await locateParameters({ root, cmdline: `quiet ${encodeCtxArg(withDomain("given"))}` });
    expect(r?.source).to.equal("cmdline");
    const cidata = join(root, "mnt/cidata");
    put(join(cidata, "user-data"), noCloudSeed(withDomain("mounted"), { hostname: "n", fqdn: "n.c", secret: false }).userData);
    const r2 = await locateParameters({ root, cmdline: "quiet", nocloudDirs: [cidata] });
    expect(r2?.source).to.equal("nocloud");
    expect(r2?.origin).to.equal(join(cidata, "user-data"));
  });

  it("reports a present but broken source instead of falling through", async () => {
    put(join(root, "etc/vacfg/context.xml"), "<Parameters>\n<Param name='a'>\n</Parameters>\n");
    put(join(root, "proc/cmdline"), `${encodeCtxArg(withDomain("x"))}\n`);
    let err: { code?: string; message: string } | undefined;
    try {
      await locateParameters({ root });
    } catch (e) {
      err = e as { code?: string; message: string };
    }
    expect(err?.code).to.equal("PARAMS_INVALID");
    expect(err?.message).to.contain(join(root, "etc/vacfg/context.xml"));
  });

  it("refuses a DHCP location that escapes the root or does not exist", async () => {
    const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: { code?: string; message: string }) => e);
    put(join(root, "run/vacfg/dhcp-ctx-url"), "file:///../../etc/passwd\n");
    expect((await failure(locateParameters({ root, cmdline: "" })))?.code).to.equal("PARAMS_INVALID");
    put(join(root, "run/vacfg/dhcp-ctx-url"), "/srv/missing.xml\n");
    const e = await failure(locateParameters({ root, cmdline: "" }));
    expect(e?.code).to.equal("PARAMS_INVALID");
    expect(e?.message).to.contain("does not exist");
  });

  describe("an https location (the site's parameter server, on loopback)", () => {
    const ca = createCa("test site CA");
    const other = createCa("someone else's CA");
    const leaf = issueCertificate(ca, { cn: "127.0.0.1", altNames: ["127.0.0.1"], usage: "server" });
    let server: Server;
    let base: string;
    const hits: string[] = [];
    before(async () => {
      server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
        hits.push(req.url ?? "");
        if (req.url === "/ctx/node1.xml") return void res.end(serializeParameterFile(withDomain("via-https")));
        if (req.url === "/moved") return void res.writeHead(302, { location: "/ctx/node1.xml" }).end();
        if (req.url === "/huge") {
          // 8 MiB in 64 KiB writes; the client must hang up past its 4 MiB limit
          const chunk = Buffer.alloc(65536, 0x20);
          let left = 128;
          const pump = () => {
            while (left > 0) {
              left--;
              if (!res.write(chunk)) return void res.once("drain", pump);
            }
            res.end();
          };
          res.on("error", () => undefined);
          return pump();
        }
        if (req.url === "/silent") return; // never answers
        res.writeHead(404).end();
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => {
      server.closeAllConnections();
      server.close();
    });
    const at = async (path: string, opts: { caPem?: string; fetchTimeoutMs?: number } = { caPem: ca.certPem }) => {
      put(join(root, "run/vacfg/dhcp-ctx-url"), `${base}${path}\n`);
      return locateParameters({ root, cmdline: "", ...opts }).then(
        (r) => ({ r, e: undefined }),
        (e: { code?: string; message: string }) => ({ r: undefined, e }),
      );
    };

    it("fetches the parameters from a server whose certificate the site CA issued", async () => {
      const { r, e } = await at("/ctx/node1.xml");
      expect(e).to.equal(undefined);
      expect(r?.source).to.equal("dhcp");
      expect(r?.origin).to.equal(`${base}/ctx/node1.xml`);
      expect(r?.params.get("domain")).to.deep.equal({ kind: "value", value: "via-https" });
    });

    it("refuses a server the given CA did not issue, and one the system does not trust", async () => {
      for (const opts of [{ caPem: other.certPem }, {}]) {
        const { e } = await at("/ctx/node1.xml", opts);
        expect(e?.code).to.equal("PARAMS_INVALID");
        expect(e?.message).to.contain(`${base}/ctx/node1.xml`).and.match(/certificate/i);
      }
    });

    it("names the HTTP status, follows no redirect, stops a body past 4 MiB, and gives up on a silent server", async () => {
      expect((await at("/nope.xml")).e?.message).to.contain("HTTP 404");
      const moved = (await at("/moved")).e;
      expect(moved?.message).to.contain("HTTP 302").and.contain("redirects are not followed");
      expect(hits.filter((h) => h === "/ctx/node1.xml").length, "the redirect target was fetched").to.equal(1);
      expect((await at("/huge")).e?.message).to.contain("larger than 4194304 bytes");
      // The server never answers: the fetch returns only because it gives up.
      const silent = (await at("/silent", { caPem: ca.certPem, fetchTimeoutMs: 300 })).e;
      expect(silent?.message).to.contain("no answer within 300 ms");
    });
  });
});
