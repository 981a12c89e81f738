// Signing and checking a parameter file (Ed25519, node:crypto): the site signs what it assembled
// for one node, the server checks the signature and that the node is the client that sent it.
import { sign, verify, type KeyObject } from "node:crypto";
import { signedParametersMessage, type ParamSignature, type ParameterFile, type SignedParameters } from "./params.js";

/** Signs `params` as made for `node` with the site's Ed25519 private key. */
export function signParameters(params: ParameterFile, node: string, key: KeyObject): ParamSignature {
  return { node, signature: sign(null, signedParametersMessage(node, params), key).toString("base64") };
}

/** Why a signed parameter file is not good for `clientNames` under `keys`, or undefined when it is. */
export function parametersRefusal(sp: SignedParameters, clientNames: string[], keys: KeyObject[]): string | undefined {
  if (!sp.signature) return "not signed";
  const { node, signature } = sp.signature;
  if (!clientNames.some((n) => n.toLowerCase() === node.toLowerCase())) return `signed for ${node}, not for this client`;
  const msg = signedParametersMessage(node, sp.params);
  const sig = Buffer.from(signature, "base64");
  if (!keys.some((k) => verify(null, msg, k, sig))) return keys.length ? "the signature does not verify with the site's public key" : "no site public key is configured to check it with";
  return undefined;
}
