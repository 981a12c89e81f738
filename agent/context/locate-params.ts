// Where the agent finds its contextualization parameters at boot, in a fixed order:
// patched file, kernel command line, DHCP-provided location, cloud-init NoCloud seed (a seed
// directory, or an attached drive labelled cidata).
import { existsSync, readFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { join } from "node:path";
import { ProtocolError } from "../../protocol/errors.js";
import { CONTEXT_FILE_PATH, parseSignedParameterFile, type SignedParameters } from "../../protocol/params.js";
import { readNoCloudDrive } from "./nocloud-drive.js";

export type ParamSource = "file" | "cmdline" | "dhcp" | "nocloud";

export interface LocateInput {
  /** The guest's root directory ("/" in a real boot, a sandbox in tests). */
  root: string;
  /** Kernel command line; default: <root>/proc/cmdline when it exists. */
  cmdline?: string;
  /** Files a DHCP hook wrote holding the parameter location; default [<root>/run/vacfg/dhcp-ctx-url]. */
  dhcpLeaseFiles?: string[];
  /** NoCloud seed directories (e.g. a mounted cidata volume), tried after <root>/var/lib/cloud/seed/nocloud{,-net}. */
  nocloudDirs?: string[];
  /**
   * Last, a drive labelled "cidata" (nocloud-drive.ts): looked for by default only when root is
   * "/" (a booted guest; a sandbox root's devices are the host's).
   */
  nocloudDrive?: boolean;
  /** Timeout for an https parameter location (ms, default 10000). */
  fetchTimeoutMs?: number;
  /** CA certificates (PEM) an https location's server must chain to: the site CA; default the system's. */
  caPem?: string;
}

/** The parameters and their signature (when the site signed them), and where they were found. */
export interface LocatedParameters extends SignedParameters {
  source: ParamSource;
  /** The file, URL or "kernel command line" the parameters came from. */
  origin: string;
}

const MAX_FETCH = 4 * 1024 * 1024;

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

/** The first source present wins; a present but invalid source is an error (PARAMS_INVALID), never skipped. */
export async function locateParameters(input: LocateInput): Promise<LocatedParameters | undefined> {
  const { root } = input;

  const patched = join(root, CONTEXT_FILE_PATH);
  const patchedText = readIfExists(patched);
  if (patchedText !== undefined) return { source: "file", origin: patched, ...parseSignedParameterFile(patchedText, patched) };

  const cmdline = input.cmdline ?? readIfExists(join(root, "proc/cmdline"));
  if (cmdline !== undefined) {
    // loaded here (with zlib), not with the agent: most roots have no command line of their own
    const found = (await import("../../protocol/ctx-cmdline.js")).decodeCtxFromCmdline(cmdline);
    if (found) return { source: "cmdline", origin: "kernel command line", ...found };
  }

  for (const lf of input.dhcpLeaseFiles ?? [join(root, "run/vacfg/dhcp-ctx-url")]) {
    const loc = readIfExists(lf)?.trim();
    if (!loc) continue;
    const { origin, text } = await fetchLocation(root, loc, lf, input.fetchTimeoutMs ?? 10000, input.caPem);
    return { source: "dhcp", origin, ...parseSignedParameterFile(text, origin) };
  }

  const seeds = [join(root, "var/lib/cloud/seed/nocloud"), join(root, "var/lib/cloud/seed/nocloud-net"), ...(input.nocloudDirs ?? [])];
  for (const dir of seeds) {
    const userData = readIfExists(join(dir, "user-data"));
    if (userData === undefined) continue;
    const text = contextFromUserData(userData);
    if (text !== undefined) return { source: "nocloud", origin: join(dir, "user-data"), ...parseSignedParameterFile(text, `${dir}/user-data`) };
  }

  if (input.nocloudDrive ?? root === "/") {
    const drive = readNoCloudDrive();
    const text = drive && contextFromUserData(drive.userData);
    if (drive && text !== undefined) return { source: "nocloud", origin: drive.origin, ...parseSignedParameterFile(text, drive.origin) };
  }
  return undefined;
}

/** A DHCP-provided location: file:///path or /path (inside root) or https://. */
async function fetchLocation(root: string, loc: string, from: string, timeoutMs: number, caPem?: string): Promise<{ origin: string; text: string }> {
  if (loc.startsWith("https://")) return { origin: loc, text: await fetchHttps(loc, from, timeoutMs, caPem) };
  const path = loc.startsWith("file:///") ? decodeURIComponent(loc.slice("file://".length)) : loc;
  if (!path.startsWith("/") || path.split("/").includes("..")) {
    throw new ProtocolError("PARAMS_INVALID", `${from}: "${loc}" is neither an absolute file path nor an https URL`);
  }
  const full = join(root, path);
  const text = readIfExists(full);
  if (text === undefined) throw new ProtocolError("PARAMS_INVALID", `${from}: parameter file ${full} does not exist`);
  return { origin: full, text };
}

/**
 * GET over TLS, trusting `caPem` (the site CA) when given: no redirects (a location is exact), the
 * whole exchange within `timeoutMs`, and the body cut off past MAX_FETCH instead of buffered.
 */
function fetchHttps(url: string, from: string, timeoutMs: number, caPem?: string): Promise<string> {
  const fail = (why: string, cause?: unknown) => new ProtocolError("PARAMS_INVALID", `${url} (from ${from}): ${why}`, cause === undefined ? undefined : { cause });
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ...(caPem ? { ca: caPem } : {}), signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(fail(`HTTP ${res.statusCode}${res.statusCode! >= 300 && res.statusCode! < 400 ? " (redirects are not followed)" : ""}`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_FETCH) {
          req.destroy();
          return reject(fail(`larger than ${MAX_FETCH} bytes`));
        }
        chunks.push(c);
      });
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      res.on("error", (e) => reject(fail(e.message, e)));
    });
    req.on("error", (e) => reject(fail(e.name === "AbortError" || e.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : e.message, e)));
  });
}

/** The parameter file that a vacfg-built NoCloud user-data would write; undefined if it holds none. */
export function contextFromUserData(userData: string): string | undefined {
  const nl = userData.indexOf("\n");
  if (!userData.startsWith("#cloud-config") || nl < 0) return undefined;
  let cfg: unknown;
  try {
    cfg = JSON.parse(userData.slice(nl + 1));
  } catch {
    return undefined; // hand-written YAML user-data: not one vacfg built
  }
  const files = (cfg as { write_files?: unknown }).write_files;
  if (!Array.isArray(files)) return undefined;
  const f = files.find((x) => typeof x === "object" && x !== null && (x as { path?: unknown }).path === CONTEXT_FILE_PATH) as
    | { content?: unknown; encoding?: unknown }
    | undefined;
  if (!f || typeof f.content !== "string") return undefined;
  if (f.encoding === "b64" || f.encoding === "base64") return Buffer.from(f.content, "base64").toString("utf8");
  if (f.encoding === undefined || f.encoding === "text/plain") return f.content;
  throw new ProtocolError("PARAMS_INVALID", `NoCloud user-data: write_files encoding "${String(f.encoding)}" is not supported`);
}
