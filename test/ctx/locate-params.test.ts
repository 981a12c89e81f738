// Agent-side lookup: in a sandbox root, the patched file wins over the kernel command line,
// which wins over the DHCP-provided location, which wins over a NoCloud seed.
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { locateParameters } from "../../agent/context/locate-params.js";
import { encodeCtxArg } from "../../protocol/ctx-cmdline.js";
import { parseParameterFile, serializeParameterFile, type ParameterFile } from "../../protocol/params.js";
import { noCloudSeed } from "../../hypervisor/ctx/nocloud.js";
import { FIGURE1 } from "./fixtures/figure1.js";

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
});
