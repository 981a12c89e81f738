import { expect } from "chai";
import { serializeMethodResponse } from "../../../protocol/xmlrpc/serializer.js";
import { ResponseMemo } from "../../../server/http/response-memo.js";

describe("server http: response memo", () => {
  const big = (tag: string): string => `<Configuration>${`<Path name="/etc/${tag}" type="file">&amp;é</Path>`.repeat(200)}</Configuration>`;

  it("gives exactly the serializer's bytes, the same Buffer again for an equal string, and serializes faults and small results each time", () => {
    const memo = new ResponseMemo();
    const res = { kind: "result" as const, value: big("a") };
    const first = memo.encode(res);
    expect(first.toString("utf8")).to.equal(serializeMethodResponse(res));
    expect(memo.encode({ kind: "result", value: big("a") })).to.equal(first);
    const small = { kind: "result" as const, value: "<Configuration/>" };
    expect(memo.encode(small)).to.not.equal(memo.encode(small));
    expect(memo.encode(small).toString()).to.equal(serializeMethodResponse(small));
    const fault = { kind: "fault" as const, faultCode: 7, faultString: big("f") };
    expect(memo.encode(fault).toString()).to.equal(serializeMethodResponse(fault));
  });

  it("stays within its byte bound, dropping the least recently used answer first", () => {
    const one = new ResponseMemo().encode({ kind: "result", value: big("x") }).length + big("x").length;
    const memo = new ResponseMemo(one * 2.5);
    const a = memo.encode({ kind: "result", value: big("a") });
    const b = memo.encode({ kind: "result", value: big("b") });
    expect(memo.encode({ kind: "result", value: big("a") })).to.equal(a); // a is now the most recent
    memo.encode({ kind: "result", value: big("c") }); // over the bound: b goes
    expect(memo.encode({ kind: "result", value: big("a") })).to.equal(a);
    expect(memo.encode({ kind: "result", value: big("b") })).to.not.equal(b);
  });
});
