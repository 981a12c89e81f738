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

/** undefined when there is no usable Basic header (→ 401 before anything else happens). */
export function parseBasicAuth(header: string | undefined): BasicCredentials | undefined {
  if (!header) return undefined;
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
  if (pieces.length === 2) return { user: pieces[0], password: pieces[1] };
  return { user: decoded, password: "" };
}
