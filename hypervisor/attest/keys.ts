// Ed25519 keys for attestation: generation (private key 0600), loading, fingerprints, and the
// trust directory (every *.pub in it is a trusted signer key).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { chmodSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
 * losing a signing key silently is worse than an error. Each file is written to a temporary name
 * and linked into place, so no half-written key is ever visible under its name.
 */
export function generateSigningKey(dir: string, name = "attest"): GeneratedKey {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith(".")) throw new VacfgError("ATTEST_KEY", `key name "${name}" must be [A-Za-z0-9._-]+`);
  mkdirSync(dir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const privatePath = join(dir, `${name}.key`);
  const publicPath = join(dir, `${name}.pub`);
  const place = (path: string, data: string, mode: number) => {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, data, { mode, flag: "wx" });
    chmodSync(tmp, mode); // umask may have narrowed it
    try {
      linkSync(tmp, path); // fails with EEXIST instead of replacing
    } catch (e) {
      throw new VacfgError("ATTEST_KEY", `${path}: ${(e as NodeJS.ErrnoException).code === "EEXIST" ? "exists; not overwriting a key" : (e as Error).message}`);
    } finally {
      rmSync(tmp, { force: true });
    }
  };
  place(privatePath, privateKey.export({ type: "pkcs8", format: "pem" }) as string, 0o600);
  try {
    place(publicPath, publicKey.export({ type: "spki", format: "pem" }) as string, 0o644);
  } catch (e) {
    rmSync(privatePath, { force: true });
    throw e;
  }
  return { privatePath, publicPath, fingerprint: keyFingerprint(publicKey) };
}

export function loadSigningKey(path: string): KeyObject {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (e) {
    throw new VacfgError("ATTEST_KEY", `${path}: ${(e as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new VacfgError("ATTEST_KEY", `${path}: not a private key: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new VacfgError("ATTEST_KEY", `${path}: ${key.asymmetricKeyType} key, expected ed25519`);
  return key;
}

export function loadPublicKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(path));
  } catch (e) {
    throw new VacfgError("ATTEST_KEY", `${path}: not a public key: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new VacfgError("ATTEST_KEY", `${path}: ${key.asymmetricKeyType} key, expected ed25519`);
  return key;
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
