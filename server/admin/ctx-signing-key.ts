// The site's contextualization signing key (Ed25519): created with the site (`vacfg init`, the
// embedded defaults, a deployment's site directory), the private half signs each parameter file
// at assembly, the public half is what the server's Context plugin checks probe data with.
import { type KeyObject } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { ensureEd25519KeyPair, readEd25519Key } from "../../lib/ed25519-key-file.js";

/** File names under a site directory. */
export const CTX_SIGNING_KEY = "ctx-signing.key";
export const CTX_PUBLIC_KEY = "ctx-signing.pub";

/** NAME.key -> NAME.pub, beside it. */
export function publicKeyPathFor(keyPath: string): string {
  return `${keyPath.replace(/\.key$/, "")}.pub`;
}

/** Creates the key pair when missing (private 0600 in a 0700 directory, public 0644); returns the paths it created. */
export function ensureCtxSigningKey(keyPath: string): string[] {
  mkdirSync(dirname(keyPath), { recursive: true, mode: 0o700 });
  return ensureEd25519KeyPair(keyPath, publicKeyPathFor(keyPath), "CTX_BINDING", "parameter signing key");
}

/** The private key, checked to be Ed25519; errors name the file. */
export function loadCtxSigningKey(keyPath: string): KeyObject {
  return readEd25519Key(keyPath, "private", "CTX_BINDING", "parameter signing key");
}
