// The client-name rule: hostname-like ASCII, bounded, compared case-insensitively.
import { expect } from "chai";
import { VacfgError } from "../../../protocol/errors.js";
import { canonicalClientName, checkClientName, clientNameProblem, MAX_CLIENT_NAME } from "../../../server/core/client-name.js";

describe("client-name rule", function () {
  it("accepts hostnames, FQDNs, uuids and underscores, and compares them in lower case", () => {
    for (const n of ["node0", "Node0.Lab.Example", "abc-123-DEF", "_srv", "a", "0", "x.", "a_b-c.d", "x".repeat(MAX_CLIENT_NAME)]) {
      expect(clientNameProblem(n), n).to.equal(undefined);
    }
    expect(checkClientName("NODE0.Example")).to.equal("node0.example");
    expect(canonicalClientName("Sec-Alias")).to.equal(canonicalClientName("SEC-ALIAS"));
  });

  it("refuses empty, over-long, traversal, path, white-space, control, glob, list and non-ASCII names, saying why", () => {
    const refused = ["", "x".repeat(MAX_CLIENT_NAME + 1), "..", ".", ".hidden", "-rf", "a..b", "x/../../etc/shadow", "a/b", "a\\b", "a b", "a\tb", "a\nb", "a\x00", "a\x01b", "a\x7f", "*", "node?", "[ab]", "{a,b}", "a,b", "a:b", "é", "\u212aelvin", "ſec", "ｎｏｄｅ", "a\u200bb", "\ufeffx"];
    for (const n of refused) expect(clientNameProblem(n), JSON.stringify(n)).to.be.a("string");
    const err = (() => {
      try {
        checkClientName("x/../y\x01");
      } catch (e) {
        return e as VacfgError;
      }
      return undefined;
    })();
    expect(err?.code).to.equal("CLIENT_NAME");
    expect(err?.message).to.equal(`client name "x/../y\\u0001" may hold only letters, digits, '.', '-' and '_', and must start with a letter, digit or '_'`);
  });
});
