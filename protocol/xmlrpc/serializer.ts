// XML-RPC values and messages to bytes, in the exact layout Python's xmlrpc.client /
// SimpleXMLRPCServer produce (so transcripts compare byte for byte).
import { escapeText } from "../xml.js";
import { isStruct, XmlRpcDouble, type MethodCall, type MethodResponse, type XmlRpcValue } from "./values.js";

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

function dateTime(d: Date): string {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function formatDouble(n: number): string {
  // Python repr(): always a decimal point or exponent.
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return n.toFixed(1);
  return String(n);
}

export function serializeValue(v: XmlRpcValue, out: string[]): void {
  out.push("<value>");
  if (v === null) out.push("<nil/>");
  else if (typeof v === "string") out.push("<string>", escapeText(v), "</string>");
  else if (typeof v === "boolean") out.push("<boolean>", v ? "1" : "0", "</boolean>");
  else if (typeof v === "number") {
    if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) out.push("<int>", String(v), "</int>");
    else out.push("<double>", formatDouble(v), "</double>");
  } else if (v instanceof XmlRpcDouble) out.push("<double>", formatDouble(v.value), "</double>");
  else if (v instanceof Date) out.push("<dateTime.iso8601>", dateTime(v), "</dateTime.iso8601>");
  else if (Buffer.isBuffer(v)) out.push("<base64>\n", v.toString("base64"), "\n</base64>");
  else if (Array.isArray(v)) {
    out.push("<array><data>\n");
    for (const item of v) {
      serializeValue(item, out);
      out.push("\n");
    }
    out.push("</data></array>");
  } else if (isStruct(v)) {
    out.push("<struct>\n");
    for (const [k, m] of Object.entries(v)) {
      out.push("<member>\n<name>", escapeText(k), "</name>\n");
      serializeValue(m, out);
      out.push("\n</member>\n");
    }
    out.push("</struct>");
  }
  out.push("</value>");
}

export function serializeMethodCall(call: MethodCall): string {
  const out: string[] = ["<?xml version='1.0'?>\n<methodCall>\n<methodName>", escapeText(call.methodName), "</methodName>\n<params>\n"];
  for (const p of call.params) {
    out.push("<param>\n");
    serializeValue(p, out);
    out.push("\n</param>\n");
  }
  out.push("</params>\n</methodCall>\n");
  return out.join("");
}

export function serializeMethodResponse(res: MethodResponse): string {
  const out: string[] = ["<?xml version='1.0'?>\n<methodResponse>\n"];
  if (res.kind === "fault") {
    out.push("<fault>\n");
    serializeValue({ faultCode: res.faultCode, faultString: res.faultString }, out);
    out.push("\n</fault>\n");
  } else {
    out.push("<params>\n<param>\n");
    serializeValue(res.value, out);
    out.push("\n</param>\n</params>\n");
  }
  out.push("</methodResponse>\n");
  return out.join("");
}
