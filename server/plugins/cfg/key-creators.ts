// Cfg's privkey.xml / pubkey.xml creators: when no file applies to a client, generate an SSH
// key pair with ssh-keygen and write it into the repository as host- (or group-) specific
// files, as upstream's CfgPrivateKeyCreator / CfgPublicKeyCreator do. Created once, then served as plain files.
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { notGeneratedYet } from "../../core/context.js";
import { VacfgError } from "../../../protocol/errors.js";
import type { XmlElement } from "../../../protocol/xml.js";
import type { ClientMetadata } from "../../core/metadata.js";
import { createFileExclusive, writeFileAtomic } from "../shared/repo-write.js";
import { generateKeyPair, publicKeyOf } from "../shared/ssh-keygen.js";
import { matchedSpec } from "../shared/xml-match.js";
import { confinedPath } from "../shared/confined-path.js";
import { SingleFlight } from "../shared/single-flight.js";
import { creatorEncryption, sslDecrypt, sslEncrypt, type EncryptWith } from "../shared/encryption.js";
import type { ServerSettings } from "../../core/context.js";

interface Binder {
  bindEntry(entry: XmlElement, meta: ClientMetadata): Promise<void> | void;
}

/**
 * Upstream XMLCfgCreator.get_specificity, rendered as the filename suffix: `.G##_group` for the
 * client's group in the file's category= (else `defaultCategory`, [sslca]/[cfg] category) unless
 * perhost="true", else `.H_client`.
 */
export function specificitySuffix(spec: XmlElement, meta: ClientMetadata, defaultCategory?: string): string {
  const category = spec.attrs.category ?? defaultCategory;
  const perHost = (spec.attrs.perhost ?? (category ? "false" : "true")).toLowerCase() === "true";
  if (category && !perHost) {
    const group = meta.categories.get(category);
    if (group) return `.G${String(Number.parseInt(spec.attrs.priority ?? "50", 10)).padStart(2, "0")}_${group}`;
  }
  return `.H_${meta.hostname}`;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** [sshkeys]: the category created keys are specific to, and the passphrase private keys are encrypted with. */
export interface SshKeyOptions {
  category?: string;
  encrypt?: EncryptWith;
}

/** The [sshkeys] options of the server settings; a passphrase name [encryption] lacks is refused as upstream does. */
export function sshKeyOptions(settings: ServerSettings): SshKeyOptions {
  const encrypt = creatorEncryption(settings, settings.sshKeys?.passphrase, "CfgPrivateKeyCreator");
  return {
    ...(settings.sshKeys?.category ? { category: settings.sshKeys.category } : {}),
    ...(encrypt ? { encrypt } : {}),
  };
}

export class KeyCreators {
  /** In-flight creations by target file: concurrent binds for the same client create once. */
  private readonly creations = new SingleFlight<string>();

  constructor(
    private readonly cfg: Binder,
    private readonly loadXml: (path: string) => XmlElement | undefined,
    /** settings.readOnly: a key that does not exist is not generated (the bind fails saying so). */
    private readonly readOnly = false,
    private readonly options: SshKeyOptions = {},
  ) {}

  create(kind: "privkey" | "pubkey", specPath: string, entry: XmlElement, meta: ClientMetadata): Promise<string> {
    return kind === "privkey" ? this.createPrivate(specPath, meta) : this.createPublic(specPath, entry, meta);
  }

  private spec(path: string, meta: ClientMetadata): XmlElement {
    return matchedSpec(this.loadXml, path, meta);
  }

  private once(key: string, fn: () => Promise<string>): Promise<string> {
    return this.creations.run(key, fn);
  }

  private createPrivate(specPath: string, meta: ClientMetadata): Promise<string> {
    const privDir = dirname(specPath);
    const spec = this.spec(specPath, meta);
    const suffix = specificitySuffix(spec, meta, this.options.category);
    const encrypt = this.options.encrypt;
    // The suffix carries the client's name: both files must stay in their entry directories.
    // With [sshkeys] passphrase the private key is written encrypted (upstream's write_data: FILE.crypt).
    const privFile = confinedPath(privDir, basename(privDir) + suffix + (encrypt ? ".crypt" : ""));
    const pubDir = privDir + ".pub";
    const pubFile = confinedPath(pubDir, basename(pubDir) + suffix);
    const plain = (stored: string) => {
      if (!encrypt) return stored;
      const opened = sslDecrypt(stored, encrypt.passphrase, encrypt.algorithm);
      if (!opened) throw new VacfgError("DECRYPT", `Cfg: Failed to decrypt ${privFile} with the [sshkeys] passphrase`);
      return opened.toString("utf8");
    };
    return this.once(privFile, async () => {
      const existing = await readIfExists(privFile);
      if (existing !== undefined) return plain(existing);
      if (this.readOnly) throw new VacfgError("REPO_FILE", notGeneratedYet(privFile, meta.hostname));
      const params = spec.children.find((c) => c.tag === "Params");
      const passphrase = spec.children.find((c) => c.tag === "Passphrase")?.text ?? "";
      const pair = await generateKeyPair({ type: params?.attrs.type ?? "rsa", bits: params?.attrs.bits, passphrase });
      // The private key claims the slot (another server process may race us); the public
      // key carries the repository path of its file as comment, as upstream writes it.
      const stored = encrypt ? sslEncrypt(pair.privateKey, encrypt.passphrase, encrypt.algorithm) : pair.privateKey;
      if (!(await createFileExclusive(privFile, stored, 0o600))) return plain((await readIfExists(privFile)) ?? "");
      const fields = pair.publicKey.split(/\s+/).slice(0, 2);
      await writeFileAtomic(pubFile, [...fields, pubFile].join(" ") + "\n");
      return pair.privateKey;
    });
  }

  private async createPublic(specPath: string, entry: XmlElement, meta: ClientMetadata): Promise<string> {
    const name = entry.attrs.name ?? "";
    if (!name.endsWith(".pub")) {
      throw new VacfgError("REPO_FILE", `Cfg: Could not determine private key for ${name}: Filename does not end in .pub`);
    }
    const privName = name.slice(0, -4);
    const privEntry: XmlElement = { tag: "Path", attrs: { name: privName }, children: [] };
    try {
      await this.cfg.bindEntry(privEntry, meta);
    } catch (e) {
      throw new VacfgError("REPO_FILE", `Cfg: Could not bind ${privName} (private key for ${specPath}): ${(e as Error).message}`, { cause: e });
    }
    const pubDir = dirname(specPath);
    const privSpecPath = join(pubDir.slice(0, -4), "privkey.xml");
    if (!this.loadXml(privSpecPath)) throw new VacfgError("REPO_FILE", `Cfg: No privkey.xml defined for ${privName} (private key for ${specPath})`);
    const pubFile = confinedPath(pubDir, basename(pubDir) + specificitySuffix(this.spec(privSpecPath, meta), meta, this.options.category));
    return this.once(pubFile, async () => {
      const existing = await readIfExists(pubFile);
      if (existing !== undefined) return existing;
      if (this.readOnly) throw new VacfgError("REPO_FILE", notGeneratedYet(pubFile, meta.hostname));
      const pub = await publicKeyOf(privEntry.text ?? "");
      await writeFileAtomic(pubFile, pub);
      return pub;
    });
  }
}
