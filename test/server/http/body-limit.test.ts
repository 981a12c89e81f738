// The declared Content-Length is checked against the body limit as digits, without converting it:
// the answer must be the numeric comparison's for every length and leading-zero form.
import { expect } from "chai";
import { declaredOver } from "../../../server/http/limits.js";
import { seededRandom } from "../../support/seeded-random.js";

describe("a declared Content-Length against the body limit", function () {
  it("says what comparing the numbers says, for 20,000 random lengths and limits (leading zeros included)", function () {
    const { rnd } = seededRandom(13);
    for (let i = 0; i < 20_000; i++) {
      const limit = Math.floor(10 ** (rnd() * 10));
      // Around the limit, far from it, and with leading zeros.
      const value = rnd() < 0.5 ? limit + Math.floor((rnd() - 0.5) * 10) : Math.floor(10 ** (rnd() * 12));
      const declared = "0".repeat(rnd() < 0.2 ? Math.floor(rnd() * 4) : 0) + String(Math.max(0, value));
      expect(declaredOver(declared, limit), `${declared} against ${limit}`).to.equal(Number(declared) > limit);
    }
  });
});
