// Ed25519 keys for attestation: generation (private key 0600), loading, fingerprints, and the
// trust directory (every *.pub in it is a trusted signer key).
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureEd25519KeyPair, readEd25519Key } from "../../lib/ed25519-key-file.js";
import { VacfgError } from "../../protocol/errors.js";

/** fingerprint ("sha256:<hex>" of the raw 32-byte key) -> public key */
export type TrustedKeys = Map<string, KeyObject>;

export function keyFingerprint(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== "ed25519") throw new VacfgError("ATTEST_KEY", `key is ${pub.asymmetricKeyType}, not ed25519`);
  const raw = Buffer.from(pub.export({ format: "jwk" }).x as string, "base64url");
  return "sha256:" + createHash("sha256").update(raw).digest("hex");
}

export interface GeneratedKey {
  privatePath: string;
  publicPath: string;
  fingerprint: string;
}

/**
 * Writes NAME.key (PKCS#8 PEM, 0600) and NAME.pub (SPKI PEM) into dir. Refuses to overwrite:
 * losing a signing key silently is worse than an error.
 */
export function generateSigningKey(dir: string, name = "attest"): GeneratedKey {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith(".")) throw new VacfgError("ATTEST_KEY", `key name "${name}" must be [A-Za-z0-9._-]+`);
  mkdirSync(dir, { recursive: true });
  const privatePath = join(dir, `${name}.key`);
  const publicPath = join(dir, `${name}.pub`);
  const exists = (path: string) => new VacfgError("ATTEST_KEY", `${path}: exists; not overwriting a key`);
  for (const path of [privatePath, publicPath]) if (existsSync(path)) throw exists(path);
  const created = ensureEd25519KeyPair(privatePath, publicPath, "ATTEST_KEY", "signing key");
  // another process made one of them meanwhile: never hand out a pair that is not all ours
  if (!created.includes(privatePath)) throw exists(privatePath);
  if (!created.includes(publicPath)) {
    rmSync(privatePath, { force: true });
    throw exists(publicPath);
  }
  return { privatePath, publicPath, fingerprint: keyFingerprint(loadPublicKey(publicPath)) };
}

export function loadSigningKey(path: string): KeyObject {
  return readEd25519Key(path, "private", "ATTEST_KEY", "signing key");
}

export function loadPublicKey(path: string): KeyObject {
  return readEd25519Key(path, "public", "ATTEST_KEY", "public key");
}

/** Every *.pub in dir, by fingerprint. A bad .pub file is an error, not silently skipped. */
export function loadTrustDir(dir: string): TrustedKeys {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".pub")).sort();
  } catch (e) {
    throw new VacfgError("ATTEST_KEY", `trust directory ${dir}: ${(e as Error).message}`);
  }
  const keys: TrustedKeys = new Map();
  for (const n of names) {
    const k = loadPublicKey(join(dir, n));
    keys.set(keyFingerprint(k), k);
  }
  return keys;
}
