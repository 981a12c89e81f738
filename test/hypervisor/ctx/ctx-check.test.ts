// `vacfg ctx check` through the built CLI: Figure 1 against the Torque template, assembled and
// signed files checked with the site key, and each kind of mistake named as file:line and Param.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { projectRoot } from "../../support/paths.js";
import { assembleCommand } from "../../../hypervisor/ctx/index.js";
import { FIGURE1, FIGURE1_AS_PRINTED, FIGURE1_STRAY_LINE, TORQUE_PUBLIC_TEMPLATE, makeSiteSandbox, type SiteSandbox } from "../../support/figure1.js";

const CLI = resolve(projectRoot, "dist/cli/vacfg.js");

function check(args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, "ctx", "check", ...args], { encoding: "utf8" });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe("ctx: vacfg ctx check", function () {
  this.timeout(180_000);
  let sb: SiteSandbox;
  const file = (name: string, text: string) => {
    const p = join(sb.dir, name);
    writeFileSync(p, text);
    return p;
  };
  before(() => (sb = makeSiteSandbox()));
  after(() => sb.cleanup());

  it("accepts Figure 1 alone and against a template that declares its parameters (exit 0)", () => {
    const f = file("fig1.xml", FIGURE1);
    const alone = check([f]);
    expect(alone.status, alone.out + alone.err).to.equal(0);
    expect(alone.out).to.equal(`${f}: valid, 4 parameters, unsigned\n`);
    const t = file("public.ctx.xml", TORQUE_PUBLIC_TEMPLATE);
    const both = check([f, "--template", t]);
    expect(both.status, both.out).to.equal(0);
    expect(both.out).to.contain("matches").and.contain("appliance torque-public, 4 declared");
  });

  it("names the stray </Parameters> of Figure 1 as printed (exit 1)", () => {
    const f = file("printed.xml", FIGURE1_AS_PRINTED);
    const r = check([f]);
    expect(r.status).to.equal(1);
    expect(r.out).to.contain(`${f}:`).and.contain(`closed by </Parameters> at line ${FIGURE1_STRAY_LINE}`);
    expect(r.out).to.match(/1 problem\n$/);
  });

  it("reports every mismatch with the template, each with its line and Param", () => {
    const t = file("public2.ctx.xml", TORQUE_PUBLIC_TEMPLATE);
    const f = file("bad.xml", `<Parameters>
  <Param name="nodenames" value="node1"/>
  <Param name="users"><List><Item value="ssh-ed25519 AAAA alice"/></List></Param>
  <Param name="colour" value="blue"/>
</Parameters>
`);
    const r = check([f, "-t", t]);
    expect(r.status).to.equal(1);
    const lines = r.out.trim().split("\n");
    expect(lines).to.include(`${f}:2: Param "nodenames": is a value, the template wants a list (<List><Item .../></List>) (${t}:3)`);
    expect(lines).to.include(`${f}:3: Param "users": is a list, the template wants every <Item> to have name= (${t}:4)`);
    expect(lines).to.include(`${f}:4: Param "colour": not declared in ${t} (appliance torque-public)`);
    expect(lines).to.include(`${f}: Param "DNSServer": missing, ${t}:2 declares it required="true"`);
    expect(lines[lines.length - 1]).to.equal("4 problems");
  });

  it("names a broken template's line and a file it cannot read", () => {
    const t = file("broken.ctx.xml", `<ContextTemplate appliance="x">\n  <Param name="a" binding="site" shape="matrix"/>\n</ContextTemplate>\n`);
    const f = file("ok.xml", FIGURE1);
    const r = check([f, "-t", t]);
    expect(r.status).to.equal(1);
    expect(r.out).to.contain(`${t}:2: Param "a": shape="matrix" must be one of value, list, named-list`);
    const missing = check([join(sb.dir, "nope.xml")]);
    expect(missing.status).to.equal(1);
    expect(missing.out).to.contain("nope.xml: cannot read: ENOENT");
  });

  it("checks an assembled file's signature with the site's public key, and refuses an edited one", () => {
    const r = assembleCommand({ template: sb.templatePath, site: sb.sitePath, request: sb.requestPath, outDir: join(sb.dir, "out") });
    const pub = join(sb.dir, "ctx-signing.pub");
    const good = check([r.files[1], "-t", sb.templatePath, "-k", pub]);
    expect(good.status, good.out).to.equal(0);
    expect(good.out).to.contain(`signed for ${r.nodes[1].fqdn} (signature verified)`);
    const edited = file("edited.xml", readFileSync(r.files[1], "utf8").replace(/10\.0\.0\.1"/, '10.0.0.9"'));
    const bad = check([edited, "-k", pub]);
    expect(bad.status).to.equal(1);
    expect(bad.out).to.contain(`${edited}: signature: the signature does not verify with the site's public key`);
  });

  it("documents the exit codes in --help; a missing FILE is a usage error naming the argument", () => {
    const h = check(["--help"]);
    expect(h.status).to.equal(0);
    expect(h.out).to.contain("--template").and.contain("Exit status: 0 valid, 1 invalid");
    const usage = check([]);
    expect(usage.status).to.equal(1);
    expect(usage.err).to.contain("missing required argument 'file'");
  });
});
