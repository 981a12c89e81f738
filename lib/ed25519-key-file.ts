// Ed25519 key files, one format and one way to create them for every signer (the site's
// parameter signing key, the attestation keys): private half PKCS#8 PEM 0600, public half SPKI
// PEM 0644 beside it, each created once through createFileOnce, so an existing key is never
// replaced and no half-written key is ever visible under its name.
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { parseEd25519Key, type KeyHalf } from "../protocol/ed25519-key.js";
import { ProtocolError, type ErrorCode } from "../protocol/errors.js";
import { createFileOnce } from "./atomic-file.js";

/** The Ed25519 key in the PEM file `path`; errors carry `code` and name the key's role (`what`) and the file. */
export function readEd25519Key(path: string, half: KeyHalf, code: ErrorCode, what: string): KeyObject {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (e) {
    throw new ProtocolError(code, `${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseEd25519Key(pem, half, `${what} ${path}`, code);
}

/**
 * Creates what is missing of a key pair: a new private key when `privatePath` does not exist, and
 * the public half of the private key when `publicPath` does not. Returns the paths it created (a
 * file another process created meanwhile is left as it is and not listed).
 */
export function ensureEd25519KeyPair(privatePath: string, publicPath: string, code: ErrorCode, what: string): string[] {
  const created: string[] = [];
  if (!existsSync(privatePath)) {
    const { privateKey } = generateKeyPairSync("ed25519");
    if (createFileOnce(privatePath, privateKey.export({ type: "pkcs8", format: "pem" }), 0o600)) created.push(privatePath);
  }
  if (!existsSync(publicPath)) {
    const pub = createPublicKey(readEd25519Key(privatePath, "private", code, what)).export({ type: "spki", format: "pem" });
    if (createFileOnce(publicPath, pub, 0o644)) created.push(publicPath);
  }
  return created;
}
