// The `vacfg.ctx=` kernel argument: parameters as base64url(deflate-raw(compact JSON)), so
// they survive any boot loader's quoting and fit the small command-line budgets of Linux and Xen.
// A signed file's "@node"/"@signature" ride along inside the JSON (about 110 more characters).
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { ProtocolError } from "./errors.js";
import { parameterFileToJson, signedParametersFromJson, type ParamSignature, type ParameterFile, type SignedParameters } from "./params.js";

export const CTX_ARG = "vacfg.ctx";
/** Version tag inside the value, so the encoding can change without breaking old agents. */
const VERSION = "1.";
/** Decoded JSON is never allowed to grow beyond this (a command line holds < 2 KiB). */
const MAX_INFLATED = 256 * 1024;

/** The whole argument, `vacfg.ctx=1.<base64url>`. */
export function encodeCtxArg(params: ParameterFile, signature?: ParamSignature): string {
  const json = JSON.stringify(parameterFileToJson(params, signature));
  const packed = deflateRawSync(Buffer.from(json, "utf8"), { level: 9 });
  return `${CTX_ARG}=${VERSION}${packed.toString("base64url")}`;
}

/** Finds `vacfg.ctx=` in a kernel command line and decodes it; undefined when absent. */
export function decodeCtxFromCmdline(cmdline: string, source = "kernel command line"): SignedParameters | undefined {
  // Kernel args are space separated; the value is base64url so it never needs quotes.
  const arg = cmdline
    .split(/\s+/)
    .filter((w) => w.startsWith(`${CTX_ARG}=`))
    .pop(); // the kernel, too, lets a later argument win
  if (arg === undefined) return undefined;
  return decodeCtxValue(arg.slice(CTX_ARG.length + 1), source);
}

/** Decodes the value part (after `vacfg.ctx=`). Errors are PARAMS_INVALID. */
export function decodeCtxValue(value: string, source = "kernel command line"): SignedParameters {
  if (!value.startsWith(VERSION)) {
    throw new ProtocolError("PARAMS_INVALID", `${source}: ${CTX_ARG} has unknown encoding version (expected "${VERSION}")`);
  }
  const b64 = value.slice(VERSION.length);
  if (!/^[A-Za-z0-9_-]*$/.test(b64)) throw new ProtocolError("PARAMS_INVALID", `${source}: ${CTX_ARG} is not base64url`);
  let json: unknown;
  try {
    const raw = inflateRawSync(Buffer.from(b64, "base64url"), { maxOutputLength: MAX_INFLATED });
    json = JSON.parse(raw.toString("utf8"));
  } catch (err) {
    throw new ProtocolError("PARAMS_INVALID", `${source}: ${CTX_ARG} does not decode: ${(err as Error).message}`, { cause: err });
  }
  return signedParametersFromJson(json, `${source} (${CTX_ARG})`);
}
