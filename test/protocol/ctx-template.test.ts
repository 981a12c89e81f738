// The appliance's contextualization template: shapes, bindings, generators, and clear refusals.
import { expect } from "chai";
import { parseContextTemplate, secretParamNames } from "../../protocol/ctx-template.js";
import { VacfgError } from "../../protocol/errors.js";
import { TORQUE_TEMPLATE } from "../support/figure1.js";

describe("context template (protocol/ctx-template.ts)", () => {
  it("parses the Torque template", () => {
    const t = parseContextTemplate(TORQUE_TEMPLATE, "torque.ctx.xml");
    expect(t.appliance).to.equal("torque");
    expect(t.params.map((p) => p.name)).to.deep.equal(["DNSServer", "domain", "nodenames", "users", "hostname", "address", "addresses", "hostcert", "sshhostkey", "sshknownhosts", "mungekey", "rootpw", "headnode"]);
    const addr = t.params.find((p) => p.name === "address")!;
    expect(addr).to.include({ shape: "value", binding: "instance", generator: "address-pool", pool: "cluster", secret: false, line: 7 });
    expect(t.params.find((p) => p.name === "rootpw")).to.include({ shape: "value", secret: true, generator: "random-password" });
    expect(t.params.find((p) => p.name === "sshknownhosts")).to.include({ shape: "named-list", secret: false, generator: "ssh-known-hosts" });
    expect(t.params.find((p) => p.name === "mungekey")).to.include({ shape: "value", secret: true, generator: "shared-secret" });
    expect(secretParamNames(t)).to.deep.equal(["hostcert", "sshhostkey", "mungekey", "rootpw"]);
  });

  it("refuses bad declarations naming line and Param", () => {
    const wrap = (body: string) => `<ContextTemplate appliance="x">\n${body}\n</ContextTemplate>`;
    const cases: [string, RegExp][] = [
      [`<Param name="a" binding="site" shape="table"/>`, /t\.xml:2: Param "a": shape="table"/],
      [`<Param name="a"/>`, /t\.xml:2: Param "a": binding= \(site or instance\) is required/],
      [`<Param name="a" binding="instance" generator="dice"/>`, /t\.xml:2: Param "a": unknown generator "dice"/],
      [`<Param name="a" binding="instance" generator="address-pool"/>`, /Param "a": generator address-pool needs pool=/],
      [`<Param name="a" binding="instance" shape="list" generator="random-password"/>`, /Param "a": generator random-password cannot produce shape list/],
      [`<Param name="a" binding="site" generator="nodenames" shape="list"/>`, /Param "a": generator needs binding="instance"/],
      [`<Param name="a" binding="site" secret="yes"/>`, /Param "a": secret="yes" must be true or false/],
      [`<Param name="a" binding="site"/>\n<Param name="a" binding="site"/>`, /t\.xml:3: Param "a": declared twice/],
    ];
    for (const [body, re] of cases) {
      let err: unknown;
      try {
        parseContextTemplate(wrap(body), "t.xml");
      } catch (e) {
        err = e;
      }
      expect(err, body).to.be.instanceOf(VacfgError);
      expect((err as VacfgError).code).to.equal("CTX_TEMPLATE");
      expect((err as VacfgError).message).to.match(re);
    }
  });
});
