// The one rule for client names (and uuids and aliases, which stand for a client): hostname-like
// ASCII, bounded, compared case-insensitively. Every place a name enters the server checks it here
// (HTTP user, certificate CN, reverse DNS, clients.xml, registration), because names become file
// names (Cfg/SSHbase `.H_<name>`), known_hosts patterns and clients.xml attributes.
import { VacfgError } from "../../protocol/errors.js";

/** Names become file names (`ssh_host_ed25519_key.pub.H_<name>`, at most 255 bytes): 128 leaves room for the prefix. */
export const MAX_CLIENT_NAME = 128;

// Letters, digits, '.', '-', '_', starting with a letter, digit or '_' (so never ".", "..", or an
// option-like "-x"). Everything else, including unicode, white space, control, glob (*?[]{}),
// path (/ \) and list (,) characters, is refused.
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Why `name` breaks the client-name rule, or undefined when it follows it. */
export function clientNameProblem(name: string): string | undefined {
  if (name.length === 0) return "is empty";
  if (name.length > MAX_CLIENT_NAME) return `is longer than ${MAX_CLIENT_NAME} characters`;
  if (!NAME.test(name)) return "may hold only letters, digits, '.', '-' and '_', and must start with a letter, digit or '_'";
  if (name.includes("..")) return "contains '..'";
  return undefined;
}

export function isValidClientName(name: string): boolean {
  return clientNameProblem(name) === undefined;
}

/** The name as it is compared and stored: lower case (valid names are ASCII). */
export function canonicalClientName(name: string): string {
  return name.toLowerCase();
}

/** A name for logs and error messages: JSON-quoted (control characters escaped), cut to 80 characters. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 80 ? name.slice(0, 80) + "…" : name);
}

/** The canonical form of a valid name, or a CLIENT_NAME error saying which rule it breaks. */
export function checkClientName(name: string, what = "client name"): string {
  const problem = clientNameProblem(name);
  if (problem !== undefined) throw new VacfgError("CLIENT_NAME", `${what} ${quoteName(name)} ${problem}`);
  return canonicalClientName(name);
}
