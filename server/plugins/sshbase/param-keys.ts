// SSH host keys a client's checked contextualization parameters carry (vacfg extension; the
// Context plugin checks the site's signature): the node's own key pair (`sshhostkey`, items
// private/public, generator ssh-host-key) and every node's public key (`sshknownhosts`, items
// FQDN -> public key, generator ssh-known-hosts). With them SSHbase serves the delivered key
// instead of generating one, and ssh_known_hosts lists the whole deployment on a node's first run.
import type { ClientMetadata } from "../../core/metadata.js";
import type { KeyType } from "./host-keys.js";

export const HOST_KEY_PARAM = "sshhostkey";
export const KNOWN_HOSTS_PARAM = "sshknownhosts";

export interface ParamHostKey {
  type: KeyType;
  privateKey: string;
  publicKey: string;
}

const PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

function keyType(publicKey: string): KeyType | undefined {
  const m = PUBLIC_KEY.exec(publicKey.trim());
  if (!m) return undefined;
  return m[1] === "ssh-ed25519" ? "ed25519" : m[1] === "ssh-rsa" ? "rsa" : "ecdsa";
}

function params(meta: ClientMetadata): Record<string, unknown> {
  return (meta.connectors.Context ?? {}) as Record<string, unknown>;
}

function items(v: unknown): Array<{ name: string; value: string }> {
  if (!Array.isArray(v)) return [];
  return v.filter((i): i is { name: string; value: string } => typeof i === "object" && i !== null && typeof i.name === "string" && typeof i.value === "string");
}

/** The client's own host key from its parameters, or undefined (absent or not a usable key pair). */
export function paramHostKey(meta: ClientMetadata): ParamHostKey | undefined {
  const list = items(params(meta)[HOST_KEY_PARAM]);
  const privateKey = list.find((i) => i.name === "private")?.value;
  const publicKey = list.find((i) => i.name === "public")?.value;
  if (!privateKey?.includes("PRIVATE KEY") || !publicKey) return undefined;
  const type = keyType(publicKey);
  if (!type) return undefined;
  return { type, privateKey, publicKey: publicKey.endsWith("\n") ? publicKey : `${publicKey}\n` };
}

/**
 * known_hosts lines for every node the parameters list: "short,fqdn[,address] key" (the address
 * when `addresses` is the same length as `nodenames` and names the node); malformed items are skipped.
 * Also returns the lower-cased names covered, so SSHbase's own keys for them are left out.
 */
export function paramKnownHosts(meta: ClientMetadata): { lines: string[]; names: Set<string> } {
  const p = params(meta);
  const nodenames = Array.isArray(p.nodenames) ? p.nodenames.map(String) : [];
  const addresses = Array.isArray(p.addresses) ? p.addresses.map(String) : [];
  const lines: string[] = [];
  const names = new Set<string>();
  for (const { name, value } of items(p[KNOWN_HOSTS_PARAM])) {
    const key = value.trim();
    if (!keyType(key) || !/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(name)) continue;
    const short = name.split(".")[0];
    const hostnames = [...new Set([short, name])];
    const i = nodenames.findIndex((n) => n.toLowerCase() === name.toLowerCase());
    if (i >= 0 && addresses.length === nodenames.length && /^[0-9a-fA-F.:]+$/.test(addresses[i])) hostnames.push(addresses[i]);
    lines.push(`${hostnames.join(",")} ${key}`);
    for (const h of hostnames) names.add(h.toLowerCase());
  }
  return { lines, names };
}
