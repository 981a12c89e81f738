// Ed25519 keys from PEM, for every signer vacfg has (the site's parameter signing key, the
// attestation keys) and every checker (the server's [context] public keys, `vacfg ctx check`).
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { ProtocolError, type ErrorCode } from "./errors.js";

export type KeyHalf = "private" | "public";

/**
 * The Ed25519 key in `pem`: the private half (PKCS#8/PKCS#1 PEM) or the public half (SPKI PEM,
 * or derived from a private PEM). Errors carry `code` and begin with `where` (the file or setting).
 */
export function parseEd25519Key(pem: string | Buffer, half: KeyHalf, where: string, code: ErrorCode = "PARAMS_INVALID"): KeyObject {
  let key: KeyObject;
  try {
    key = half === "private" ? createPrivateKey(pem) : createPublicKey(pem);
  } catch (e) {
    throw new ProtocolError(code, `${where}: not a ${half} key: ${(e as Error).message}`, { cause: e });
  }
  if (key.asymmetricKeyType !== "ed25519") throw new ProtocolError(code, `${where}: a ${key.asymmetricKeyType} key, expected Ed25519`);
  return key;
}
