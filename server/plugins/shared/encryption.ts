// Bcfg2's encryption (Bcfg2.Server.Encryption): OpenSSL's "Salted__" format, base64, with the key
// and IV derived from a named passphrase (EVP_BytesToKey, MD5, one round), so `openssl enc -d
// -aes-256-cbc -md md5 -a` and upstream's bcfg2-crypt read what we write and the other way round.
import { isUtf8 } from "node:buffer";
import { createCipheriv, createDecipheriv, createHash, getCipherInfo, randomBytes } from "node:crypto";
import { VacfgError } from "../../../protocol/errors.js";
import type { Logger } from "pino";
import type { XmlElement } from "../../../protocol/xml.js";
import type { EncryptionSettings } from "../../core/context.js";

export type { EncryptionSettings };

export const DEFAULT_ALGORITHM = "aes_256_cbc";
const MAGIC = Buffer.from("Salted__", "latin1");

/** Upstream's algorithm name → Node's cipher, with its key and IV lengths. */
export function cipherFor(algorithm: string): { name: string; keyLength: number; ivLength: number } {
  const name = algorithm.toLowerCase().replace(/_/g, "-");
  const info = getCipherInfo(name);
  if (!info || info.mode !== "cbc") throw new VacfgError("SERVER_CONFIG", `[encryption] algorithm "${algorithm}" is not a CBC cipher this system knows (e.g. aes_256_cbc)`);
  return { name, keyLength: info.keyLength, ivLength: info.ivLength ?? 0 };
}

/**
 * Upstream's derivation: three MD5 rounds over passphrase+salt; key = D1‖D2, IV = D3. A cipher with a
 * shorter key or IV uses their first bytes, as M2Crypto's EVP_CipherInit does.
 */
function deriveKey(passphrase: string, salt: Buffer, algorithm: string) {
  const c = cipherFor(algorithm);
  const pass = Buffer.from(passphrase, "utf8");
  const d: Buffer[] = [];
  for (let i = 0; i < 3; i++) d.push(createHash("md5").update(Buffer.concat([i ? d[i - 1]! : Buffer.alloc(0), pass, salt])).digest());
  return { cipher: c.name, key: Buffer.concat([d[0]!, d[1]!]).subarray(0, c.keyLength), iv: d[2]!.subarray(0, c.ivLength) };
}

/** ssl_encrypt: base64 of "Salted__" + salt + ciphertext, with a trailing newline (as upstream). */
export function sslEncrypt(plaintext: string | Buffer, passphrase: string, algorithm = DEFAULT_ALGORITHM, salt: Buffer = randomBytes(8)): string {
  const k = deriveKey(passphrase, salt, algorithm);
  const c = createCipheriv(k.cipher, k.key, k.iv);
  const body = Buffer.concat([c.update(typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext), c.final()]);
  return Buffer.concat([MAGIC, salt, body]).toString("base64") + "\n";
}

/** Python's b64decode without validation: characters outside the alphabet (newlines) are skipped. */
function b64decode(text: string): Buffer {
  return Buffer.from(text.replace(/[^A-Za-z0-9+/=]/g, ""), "base64");
}

/** ssl_decrypt: the plaintext bytes, or undefined when this passphrase does not open it (bad padding, as OpenSSL's EVPError). */
export function sslDecrypt(data: string, passphrase: string, algorithm = DEFAULT_ALGORITHM): Buffer | undefined {
  const raw = b64decode(data);
  if (raw.length < 16 || !raw.subarray(0, 8).equals(MAGIC)) return undefined;
  const k = deriveKey(passphrase, raw.subarray(8, 16), algorithm);
  try {
    const d = createDecipheriv(k.cipher, k.key, k.iv);
    return Buffer.concat([d.update(raw.subarray(16)), d.final()]);
  } catch {
    return undefined;
  }
}

/** is_encrypted: base64 whose content starts with "Salted__" (rare false positives, no false negatives). */
export function isEncrypted(text: string): boolean {
  return b64decode(text).subarray(0, 8).equals(MAGIC);
}

/**
 * bruteforce_decrypt: the passphrase (in configuration order) that opens the data. Without a MAC a
 * wrong passphrase opens it too, 1 salt in 256 (valid padding, random bytes), and upstream then serves
 * garbage: of several that open it, the first whose plaintext is UTF-8 (random bytes almost never
 * are) is taken, so text is never lost that way; data that is not UTF-8 gets the first, as upstream.
 */
export function decryptWithAny(data: string, settings: EncryptionSettings): { name: string; plaintext: Buffer } | undefined {
  let first: { name: string; plaintext: Buffer } | undefined;
  for (const [name, passphrase] of settings.passphrases) {
    const plaintext = sslDecrypt(data, passphrase, settings.algorithm);
    if (!plaintext) continue;
    if (isUtf8(plaintext)) return { name, plaintext };
    first ??= { name, plaintext };
  }
  return first;
}

/** The passphrase called `name` (case-insensitive, as ConfigParser keys are), or a clear error. */
export function namedPassphrase(settings: EncryptionSettings, name: string, where: string): string {
  const p = settings.passphrases.get(name.toLowerCase());
  if (p === undefined) {
    const known = [...settings.passphrases.keys()];
    throw new VacfgError("DECRYPT", `${where}: no passphrase named "${name}" in [encryption]${known.length ? ` (known: ${known.join(", ")})` : " (it has none)"}`);
  }
  return p;
}

/** A passphrase to encrypt created data with, and the [encryption] algorithm. */
export interface EncryptWith {
  passphrase: string;
  algorithm?: string;
}

/**
 * A creator's `passphrase = NAME` ([sslca], [sshkeys], [sshbase]) resolved in [encryption], or
 * undefined when none is set; a NAME [encryption] lacks is refused as upstream does (server-config.ts
 * has checked it already for settings read from vacfg.conf).
 */
export function creatorEncryption(settings: { encryption?: EncryptionSettings }, name: string | undefined, where: string): EncryptWith | undefined {
  if (name === undefined) return undefined;
  const passphrase = settings.encryption?.passphrases.get(name);
  if (passphrase === undefined) throw new VacfgError("DECRYPT", `${where}: No such passphrase: ${name}`);
  return { passphrase, ...(settings.encryption?.algorithm ? { algorithm: settings.encryption.algorithm } : {}) };
}

/** Reads [encryption]: every key is a named passphrase except `algorithm` and `lax_decryption`. */
export function encryptionSettings(section: ReadonlyMap<string, { value: string; line: number }> | undefined, source: string): EncryptionSettings {
  const settings: EncryptionSettings = { passphrases: new Map(), algorithm: DEFAULT_ALGORITHM, lax: false };
  for (const [key, v] of section ?? []) {
    if (key === "algorithm") {
      settings.algorithm = v.value.toLowerCase().replace(/-/g, "_");
      try {
        cipherFor(settings.algorithm);
      } catch (e) {
        throw new VacfgError("SERVER_CONFIG", `${source}:${v.line}: ${(e as Error).message}`);
      }
    } else if (key === "lax_decryption") {
      if (!/^(true|false|yes|no|1|0|on|off)$/i.test(v.value)) throw new VacfgError("SERVER_CONFIG", `${source}:${v.line}: lax_decryption must be true or false, found "${v.value}"`);
      settings.lax = /^(true|yes|1|on)$/i.test(v.value);
    } else {
      settings.passphrases.set(key, v.value);
    }
  }
  return settings;
}

/** Decrypts a StructFile's `encrypted="NAME"` elements in place (upstream StructFile.Index). */
export type ElementDecryptor = (root: XmlElement, path: string) => void;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Upstream's StructFile decryption, for Properties, bundles, Rules, Defaults, Decisions and Cfg's XML
 * specifications: each element with `encrypted="NAME"` and text is decrypted with passphrase NAME.
 * One that does not decrypt fails the file, naming the element and its line, unless lax decryption is
 * on (the root's `lax_decryption="true|false"` overrides [encryption] lax_decryption): then it keeps
 * its text and is logged. A plaintext that is not UTF-8 ("gibberish", a wrong passphrase whose padding
 * happened to check) keeps the encrypted text, as upstream.
 */
export function elementDecryptor(settings: EncryptionSettings | undefined, logger: Logger): ElementDecryptor {
  return (root, path) => {
    const laxAttr = root.attrs.lax_decryption;
    const lax = laxAttr !== undefined ? laxAttr.toLowerCase() === "true" : (settings?.lax ?? false);
    const visit = (el: XmlElement): void => {
      const name = el.attrs.encrypted;
      if (name !== undefined && el.text !== undefined && el.text.trim() !== "") {
        const passphrase = settings?.passphrases.get(name.toLowerCase());
        const plaintext = passphrase === undefined ? undefined : sslDecrypt(el.text, passphrase, settings!.algorithm);
        if (plaintext === undefined) {
          const why = passphrase === undefined ? `no passphrase named "${name}" in [encryption]` : `passphrase "${name}" does not open it`;
          const msg = `${path}:${el.line ?? 1}: Failed to decrypt ${el.tag} element: ${why}`;
          if (!lax) throw new VacfgError("DECRYPT", msg);
          logger.warn({ path, line: el.line }, `${msg} (lax_decryption: left encrypted)`);
        } else {
          try {
            el.text = strictUtf8.decode(plaintext);
          } catch {
            logger.info({ path, line: el.line }, `${path}: Decrypted ${el.tag} to gibberish, skipping`);
          }
        }
      }
      el.children.forEach(visit);
    };
    visit(root);
  };
}
