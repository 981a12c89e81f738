// The site's contextualization signing key (Ed25519): created with the site (`vacfg init`, the
// embedded defaults, a deployment's site directory), the private half signs each parameter file
// at assembly, the public half is what the server's Context plugin checks probe data with.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { createFileOnce } from "../../lib/atomic-file.js";

/** File names under a site directory. */
export const CTX_SIGNING_KEY = "ctx-signing.key";
export const CTX_PUBLIC_KEY = "ctx-signing.pub";

/** NAME.key -> NAME.pub, beside it. */
export function publicKeyPathFor(keyPath: string): string {
  return `${keyPath.replace(/\.key$/, "")}.pub`;
}

/** Creates the key pair when missing (private 0600, public 0644); returns the paths it created. */
export function ensureCtxSigningKey(keyPath: string): string[] {
  const pubPath = publicKeyPathFor(keyPath);
  const created: string[] = [];
  if (!existsSync(keyPath)) {
    mkdirSync(dirname(keyPath), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync("ed25519");
    if (createFileOnce(keyPath, privateKey.export({ type: "pkcs8", format: "pem" }), 0o600)) created.push(keyPath);
  }
  if (!existsSync(pubPath)) {
    const pub = createPublicKey(loadCtxSigningKey(keyPath)).export({ type: "spki", format: "pem" });
    if (createFileOnce(pubPath, pub, 0o644)) created.push(pubPath);
  }
  return created;
}

/** The private key, checked to be Ed25519; errors name the file. */
export function loadCtxSigningKey(keyPath: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(keyPath));
  } catch (e) {
    throw new VacfgError("CTX_BINDING", `parameter signing key ${keyPath}: ${(e as Error).message}`, { cause: e });
  }
  if (key.asymmetricKeyType !== "ed25519") throw new VacfgError("CTX_BINDING", `parameter signing key ${keyPath}: a ${key.asymmetricKeyType} key, expected Ed25519`);
  return key;
}
