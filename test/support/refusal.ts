// The error a call refuses with: fails the test when the call succeeds or throws anything but a VacfgError.
import { expect } from "chai";
import { VacfgError } from "../../protocol/errors.js";

export function refusal(fn: () => unknown): VacfgError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(VacfgError);
    return e as VacfgError;
  }
  throw new Error("expected a refusal");
}
