// The vacfg.ctx= kernel argument: round trip through encode/decode, and the refusals for
// command lines the boot target cannot hold and for secret parameters.
import { expect } from "chai";
import { createHash, generateKeyPairSync } from "node:crypto";
import { signParameters } from "../../../protocol/params-signature.js";
import { decodeCtxFromCmdline, encodeCtxArg } from "../../../protocol/ctx-cmdline.js";
import { parseContextTemplate } from "../../../protocol/ctx-template.js";
import { parseParameterFile, serializeParameterFile, type ParameterFile } from "../../../protocol/params.js";
import { buildKernelCmdline, CMDLINE_LIMITS } from "../../../hypervisor/ctx/cmdline.js";
import { FIGURE1, TORQUE_PUBLIC_TEMPLATE, TORQUE_TEMPLATE } from "../../support/figure1.js";
import { refusal } from "../../support/refusal.js";

const BASE = "root=/dev/xvda1 ro console=hvc0";

describe("kernel command line delivery (hypervisor/ctx/cmdline.ts, protocol/ctx-cmdline.ts)", () => {
  const params = parseParameterFile(FIGURE1);
  const pub = parseContextTemplate(TORQUE_PUBLIC_TEMPLATE, "public.ctx.xml");

  it("round-trips Figure 1 through one vacfg.ctx= argument", () => {
    const line = buildKernelCmdline(BASE, params, { template: pub, target: "xen-pv" });
    expect(line.startsWith(`${BASE} vacfg.ctx=1.`)).to.equal(true);
    expect(line.split(" ")).to.have.length(4); // one argument, no spaces inside
    expect(line).to.match(/^[\x21-\x7e ]+$/);
    const back = decodeCtxFromCmdline(line);
    expect(serializeParameterFile(back!.params)).to.equal(FIGURE1);
    expect(Buffer.byteLength(line) + 1).to.be.at.most(CMDLINE_LIMITS["xen-pv"]);
  });

  it("carries the site's signature: signed Figure 1 still fits Xen PV's 1024 bytes and decodes with it", () => {
    const sig = signParameters(params, "node1.cluster", generateKeyPairSync("ed25519").privateKey);
    const line = buildKernelCmdline(BASE, params, { template: pub, target: "xen-pv", signature: sig });
    expect(Buffer.byteLength(line) + 1).to.be.at.most(CMDLINE_LIMITS["xen-pv"]);
    expect(decodeCtxFromCmdline(line)).to.deep.equal({ params, signature: sig });
  });

  it("replaces an earlier vacfg.ctx= rather than adding a second", () => {
    const one = buildKernelCmdline(BASE, params, { template: pub, target: "linux-x86_64" });
    const two = buildKernelCmdline(one, new Map([["domain", { kind: "value", value: "other" }]]), { template: pub, target: "linux-x86_64" });
    expect(two.match(/vacfg\.ctx=/g)).to.have.length(1);
    expect(decodeCtxFromCmdline(two)!.params.get("domain")).to.deep.equal({ kind: "value", value: "other" });
  });

  it("returns undefined when there is no vacfg.ctx=, and refuses a damaged one", () => {
    expect(decodeCtxFromCmdline(BASE)).to.equal(undefined);
    expect(refusal(() => decodeCtxFromCmdline(`${BASE} vacfg.ctx=1.AAAA`)).code).to.equal("PARAMS_INVALID");
    expect(refusal(() => decodeCtxFromCmdline(`${BASE} vacfg.ctx=9.AAAA`)).message).to.contain("unknown encoding version");
    expect(refusal(() => decodeCtxFromCmdline(`${BASE} vacfg.ctx=1.a+b/`)).message).to.contain("not base64url");
  });

  it("refuses (CMDLINE_TOO_LONG) what exceeds the target: Xen PV 1024 bytes, x86_64 Linux 2048", () => {
    // node names that do not compress (a digest of their index), so the argument grows with them; the
    // same names every run, so the first list past 1024 bytes is the one refused below
    const many = (n: number): ParameterFile =>
      new Map([["nodenames", { kind: "list", items: Array.from({ length: n }, (_, i) => ({ value: `n${i}-${createHash("sha256").update(String(i)).digest("hex").slice(0, 8)}.cluster` })) }]]);
    let n = 1;
    while (Buffer.byteLength(`${BASE} ${encodeCtxArg(many(n))}`) + 1 <= 1024) n += 4;
    const mid = many(n);
    const e = refusal(() => buildKernelCmdline(BASE, mid, { template: pub, target: "xen-pv" }));
    expect(e.code).to.equal("CMDLINE_TOO_LONG");
    expect(e.message).to.match(/xen-pv allows 1024/);
    // the same parameters still fit Linux's larger budget
    const line = buildKernelCmdline(BASE, mid, { template: pub, target: "linux-x86_64" });
    expect(Buffer.byteLength(line) + 1).to.be.greaterThan(1024).and.at.most(2048);
    const e2 = refusal(() => buildKernelCmdline(BASE, many(n * 3), { template: pub, target: "linux-x86_64" }));
    expect(e2.code).to.equal("CMDLINE_TOO_LONG");
    expect(e2.message).to.match(/linux-x86_64 allows 2048/);
  });

  it("refuses (CMDLINE_SECRET) parameters the template marks secret, naming them", () => {
    const secretTemplate = parseContextTemplate(TORQUE_TEMPLATE, "torque.ctx.xml");
    const withPw: ParameterFile = new Map([...params, ["rootpw", { kind: "value", value: "s3cret" }]]);
    const e = refusal(() => buildKernelCmdline(BASE, withPw, { template: secretTemplate, target: "linux-x86_64" }));
    expect(e.code).to.equal("CMDLINE_SECRET");
    expect(e.message).to.contain('"rootpw"');
    expect(e.message).not.to.contain("s3cret");
  });
});
