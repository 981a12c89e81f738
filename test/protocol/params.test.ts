// The parameter file: Figure 1 parses, round-trips byte for byte, has the probe JSON form,
// and malformed or mis-shaped files are refused naming the line and the Param.
import { expect } from "chai";
import {
  parameterFileFromJson,
  parameterFileToJson,
  parseParameterFile,
  parseSignedParameterFile,
  serializeParameterFile,
  signedParametersFromJson,
} from "../../protocol/params.js";
import { ALICE_KEY, BOB_KEY, FIGURE1, FIGURE1_AS_PRINTED, FIGURE1_NEXT_ROOT_LINE, FIGURE1_STRAY_LINE } from "../support/figure1.js";
import { refusal } from "../support/refusal.js";

describe("parameter file (protocol/params.ts)", () => {
  it("parses the well-formed Figure 1 file into lists and values", () => {
    const p = parseParameterFile(FIGURE1, "figure1.xml");
    expect([...p.keys()]).to.deep.equal(["DNSServer", "nodenames", "users", "domain"]);
    expect(p.get("DNSServer")).to.deep.equal({ kind: "list", items: [{ value: "10.0.0.1" }, { value: "10.0.0.2" }] });
    expect(p.get("nodenames")).to.deep.equal({ kind: "list", items: [1, 2, 3, 4, 5].map((i) => ({ value: `node${i}.cluster` })) });
    expect(p.get("users")).to.deep.equal({ kind: "list", items: [{ name: "alice", value: ALICE_KEY }, { name: "bob", value: BOB_KEY }] });
    expect(p.get("domain")).to.deep.equal({ kind: "value", value: "cluster" });
  });

  it("serializes back to the same bytes", () => {
    expect(serializeParameterFile(parseParameterFile(FIGURE1))).to.equal(FIGURE1);
  });

  it("gives the JSON form the vacfg-context probe carries, and reads it back", () => {
    const json = parameterFileToJson(parseParameterFile(FIGURE1));
    expect(json).to.deep.equal({
      DNSServer: ["10.0.0.1", "10.0.0.2"],
      nodenames: ["node1.cluster", "node2.cluster", "node3.cluster", "node4.cluster", "node5.cluster"],
      users: [{ name: "alice", value: ALICE_KEY }, { name: "bob", value: BOB_KEY }],
      domain: "cluster",
    });
    expect(serializeParameterFile(parameterFileFromJson(JSON.parse(JSON.stringify(json))))).to.equal(FIGURE1);
  });

  it("carries a signature as <Parameters node= signature=> and as \"@node\"/\"@signature\" in JSON, refusing half or malformed ones", () => {
    const p = parseParameterFile(FIGURE1);
    const sig = { node: "node1.cluster", signature: `${"A".repeat(85)}w==` };
    const xml = serializeParameterFile(p, sig);
    expect(xml).to.contain('<Parameters node="node1.cluster" signature="');
    expect(parseSignedParameterFile(xml)).to.deep.equal({ params: p, signature: sig });
    const json = parameterFileToJson(p, sig);
    expect(json["@node"]).to.equal("node1.cluster");
    expect(signedParametersFromJson(JSON.parse(JSON.stringify(json)))).to.deep.equal({ params: p, signature: sig });
    expect(parseSignedParameterFile(FIGURE1)).to.deep.equal({ params: p });
    expect(refusal(() => parseSignedParameterFile(xml.replace(/ signature="[^"]*"/, ""), "f.xml")).message).to.match(/^f\.xml:2: <Parameters> signature=: missing/);
    expect(refusal(() => parseSignedParameterFile(xml.replace(/signature="[^"]*"/, 'signature="abc"'), "f.xml")).message).to.contain("not a base64 Ed25519 signature");
    expect(refusal(() => parseSignedParameterFile(xml.replace('node="node1.cluster"', 'node="a b"'), "f.xml")).message).to.contain("is not a node name");
    expect(refusal(() => parseSignedParameterFile(xml.replace("<Parameters ", '<Parameters owner="x" '), "f.xml")).message).to.contain("unknown attribute owner");
    expect(refusal(() => signedParametersFromJson({ ...json, "@node": 5 })).message).to.contain('"@node" is not a string');
  });

  it("rejects Figure 1 as printed, naming the stray </Parameters> line", () => {
    const e = refusal(() => parseParameterFile(FIGURE1_AS_PRINTED, "figure1-as-printed.xml"));
    expect(e.code).to.equal("PARAMS_INVALID");
    expect(e.message).to.contain(`figure1-as-printed.xml:${FIGURE1_NEXT_ROOT_LINE}:`);
    expect(e.message).to.contain(`line ${FIGURE1_STRAY_LINE}`);
  });

  it("names the line and the Param for mis-shaped parameters", () => {
    const cases: [string, RegExp][] = [
      [`<Parameters>\n<Param name="a" value="1"><List/></Param>\n</Parameters>`, /f\.xml:2: Param "a": has both value= and a <List>/],
      [`<Parameters>\n\n<Param value="1"/>\n</Parameters>`, /f\.xml:3: <Param> without a name/],
      [`<Parameters>\n<Param name="a">\n<List><Item/></List></Param>\n</Parameters>`, /f\.xml:3: Param "a": <Item> without a value/],
      [`<Parameters>\n<Param name="a" value="1"/>\n<Param name="a" value="2"/>\n</Parameters>`, /f\.xml:3: Param "a": defined twice/],
      [`<Parameters>\n<Param name="a"/>\n</Parameters>`, /f\.xml:2: Param "a": needs value= or exactly one <List>/],
      [`<Params/>`, /f\.xml:1: root element is <Params>/],
      [`<Parameters>\n<Param name="a" valu="1"/>\n</Parameters>`, /f\.xml:2: Param "a": unknown attribute valu/],
    ];
    for (const [xml, re] of cases) {
      const e = refusal(() => parseParameterFile(xml, "f.xml"));
      expect(e.code).to.equal("PARAMS_INVALID");
      expect(e.message).to.match(re);
    }
  });

  it("refuses entity declarations (untrusted input)", () => {
    const e = refusal(() => parseParameterFile(`<!DOCTYPE x [<!ENTITY a "b">]><Parameters/>`, "evil.xml"));
    expect(e.code).to.equal("PARAMS_INVALID");
  });

  it("refuses JSON with the wrong shapes", () => {
    expect(refusal(() => parameterFileFromJson({ a: 1 })).code).to.equal("PARAMS_INVALID");
    expect(refusal(() => parameterFileFromJson({ a: [{ name: "x" }] })).code).to.equal("PARAMS_INVALID");
    expect(refusal(() => parameterFileFromJson({ "1bad": "x" })).code).to.equal("PARAMS_INVALID");
  });
});
