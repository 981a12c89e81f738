// HTTP Basic credentials, split exactly as upstream Bcfg2 does (SSLServer.authenticate):
// exactly one ':' gives user and password; none or several make the whole string the user
// and the password "".
export interface BasicCredentials {
  user: string;
  password: string;
}

// ignoreBOM: a leading U+FEFF stays part of the user (as Python's utf-8 codec keeps it), so the name rule refuses it.
// One decoder serves every call: a fatal decode without `stream` starts afresh each time.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The last header parsed and what it holds: a client sends the same header with every call. */
let last: { header: string; creds: Readonly<BasicCredentials> | undefined } | undefined;

/** undefined when there is no usable Basic header (→ 401 before anything else happens). */
export function parseBasicAuth(header: string | undefined): Readonly<BasicCredentials> | undefined {
  if (!header) return undefined;
  if (last?.header !== header) last = { header, creds: parse(header) };
  return last.creds;
}

function parse(header: string): Readonly<BasicCredentials> | undefined {
  // Upstream takes the second whitespace-separated word whatever the scheme says.
  const parts = header.trim().split(/\s+/);
  if (parts.length < 2) return undefined;
  const token = parts[1];
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(token)) return undefined;
  let decoded: string;
  try {
    decoded = UTF8.decode(Buffer.from(token, "base64"));
  } catch {
    return undefined;
  }
  const pieces = decoded.split(":");
  return Object.freeze(pieces.length === 2 ? { user: pieces[0], password: pieces[1] } : { user: decoded, password: "" });
}
