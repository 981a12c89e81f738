// Errors thrown by a method → the XML-RPC fault upstream Bcfg2 would send for them:
// catalogue errors carry their fault code, a peer's fault passes through, anything else is 1.
import { VacfgError, XmlRpcFault } from "../../protocol/errors.js";

export interface Fault {
  faultCode: number;
  faultString: string;
}

const CRITICAL_FAULT = -32500;

export function faultFor(err: unknown): Fault {
  if (err instanceof XmlRpcFault) return { faultCode: err.faultCode, faultString: err.faultString };
  if (err instanceof VacfgError) {
    const faultCode = err.fault ?? 1;
    // Upstream's critical_error always words it "Critical failure: …"; keep that whoever threw.
    const faultString =
      faultCode === CRITICAL_FAULT && !err.message.startsWith("Critical failure") ? `Critical failure: ${err.message}` : err.message;
    return { faultCode, faultString };
  }
  if (err instanceof Error) return { faultCode: 1, faultString: err.message };
  return { faultCode: 1, faultString: String(err) };
}
