// XML-RPC values and messages to bytes, in the exact layout of Python's xmlrpc.client
// (Marshaller.dumps), so messages compare byte for byte with upstream clients and servers.
// One deliberate difference: characters XML 1.0 forbids, which Python would send raw (an
// answer no XML parser reads), are replaced by U+FFFD.
import { XML_FORBIDDEN } from "../xml.js";
import { isStruct, XmlRpcDouble, type MethodCall, type MethodResponse, type XmlRpcValue } from "./values.js";

const FORBIDDEN_ALL = new RegExp(XML_FORBIDDEN.source, "gu");

/** xmlrpc.client.escape: only &, < and > (a CR stays raw, as Python sends it), then forbidden characters replaced. */
export function escapeWire(s: string): string {
  const e = s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return XML_FORBIDDEN.test(e) ? e.replace(FORBIDDEN_ALL, "\uFFFD") : e;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** xmlrpc.client._strftime: %04d%02d%02dT%02d:%02d:%02d. */
function dateTime(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/**
 * Python's repr(float): the shortest digits that round-trip (as JavaScript finds them), written
 * in scientific form when the decimal exponent is below -4 or above 16 ("1e-07", "1e+16"), with a
 * ".0" on whole numbers; inf, -inf and nan as Python spells them.
 */
export function pythonFloatRepr(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  if (n === 0) return Object.is(n, -0) ? "-0.0" : "0.0";
  const sign = n < 0 ? "-" : "";
  const [mant, exp] = Math.abs(n).toExponential().split("e");
  const digits = mant.replace(".", "");
  const decpt = Number(exp) + 1; // the value is 0.DIGITS × 10^decpt
  if (decpt <= -4 || decpt > 16) {
    const e = decpt - 1;
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
    return `${sign}${digits[0]}${frac}e${e < 0 ? "-" : "+"}${pad(Math.abs(e))}`;
  }
  if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** base64.encodebytes: lines of 76 characters, each ending in a newline (nothing for no bytes). */
function encodebytes(b: Buffer): string {
  const s = b.toString("base64");
  let out = "";
  for (let i = 0; i < s.length; i += 76) out += s.slice(i, i + 76) + "\n";
  return out;
}

export function serializeValue(v: XmlRpcValue, out: string[]): void {
  if (v === null) out.push("<value><nil/></value>");
  else if (typeof v === "string") out.push("<value><string>", escapeWire(v), "</string></value>\n");
  else if (typeof v === "boolean") out.push("<value><boolean>", v ? "1" : "0", "</boolean></value>\n");
  else if (typeof v === "number") {
    // A plain JS integer within int32 is an <int>; anything else a <double> (Python would refuse the int).
    if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) out.push("<value><int>", String(v), "</int></value>\n");
    else out.push("<value><double>", pythonFloatRepr(v), "</double></value>\n");
  } else if (v instanceof XmlRpcDouble) out.push("<value><double>", pythonFloatRepr(v.value), "</double></value>\n");
  else if (v instanceof Date) out.push("<value><dateTime.iso8601>", dateTime(v), "</dateTime.iso8601></value>\n");
  else if (Buffer.isBuffer(v)) out.push("<value><base64>\n", encodebytes(v), "</base64></value>\n");
  else if (Array.isArray(v)) {
    out.push("<value><array><data>\n");
    for (const item of v) serializeValue(item, out);
    out.push("</data></array></value>\n");
  } else if (isStruct(v)) {
    out.push("<value><struct>\n");
    for (const [k, m] of Object.entries(v)) {
      out.push("<member>\n<name>", escapeWire(k), "</name>\n");
      serializeValue(m, out);
      out.push("</member>\n");
    }
    out.push("</struct></value>\n");
  }
}

export function serializeMethodCall(call: MethodCall): string {
  const out: string[] = ["<?xml version='1.0'?>\n<methodCall>\n<methodName>", escapeWire(call.methodName), "</methodName>\n<params>\n"];
  for (const p of call.params) {
    out.push("<param>\n");
    serializeValue(p, out);
    out.push("</param>\n");
  }
  out.push("</params>\n</methodCall>\n");
  return out.join("");
}

export function serializeMethodResponse(res: MethodResponse): string {
  const out: string[] = ["<?xml version='1.0'?>\n<methodResponse>\n"];
  if (res.kind === "fault") {
    out.push("<fault>\n");
    serializeValue({ faultCode: res.faultCode, faultString: res.faultString }, out);
    out.push("</fault>\n");
  } else {
    out.push("<params>\n<param>\n");
    serializeValue(res.value, out);
    out.push("</param>\n</params>\n");
  }
  out.push("</methodResponse>\n");
  return out.join("");
}
