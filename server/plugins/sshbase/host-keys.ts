// The SSHbase repository directory: which host key files exist (ssh_host_<type>_key[.pub]
// [.H_host|.G##_group]) and generating a client's missing keys exactly once.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { VacfgError } from "../../../protocol/errors.js";
import type { EncryptionSettings } from "../../core/context.js";
import { decryptWithAny, sslEncrypt, type EncryptWith } from "../shared/encryption.js";
import { writeFileAtomic } from "../../../lib/atomic-file.js";
import { join } from "node:path";
import { DirCache, FileCache } from "../../core/file-cache.js";
import type { ClientMetadata } from "../../core/metadata.js";
import { isIgnoredName } from "../shared/ignored-names.js";
import { bestMatching, specificRegex, specificityFromMatch, type Specificity } from "../shared/specificity.js";
import { createFileExclusive } from "../shared/repo-write.js";
import { generateKeyPair, publicKeyOf } from "../shared/ssh-keygen.js";
import { checkClientName } from "../../core/client-name.js";
import { confinedPath } from "../shared/confined-path.js";

/** Key types served and generated, in upstream's keypatterns order. */
export const KEY_TYPES = ["ecdsa", "ed25519", "rsa"] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** Every key file basename SSHbase knows, private and public (upstream keypatterns). */
export const KEY_BASENAMES: string[] = [
  ...KEY_TYPES.map((t) => `ssh_host_${t}_key`),
  ...KEY_TYPES.map((t) => `ssh_host_${t}_key.pub`),
];

export interface KeyFile {
  /** e.g. ssh_host_rsa_key.pub */
  basename: string;
  spec: Specificity;
  path: string;
  /** The file's name in SSHbase/ (the last component of path). */
  name: string;
  /** A `.crypt` file (upstream's [sshbase] passphrase): decrypted with the [encryption] passphrases when read. */
  encrypted?: boolean;
}

/** One key basename's files: host-specific ones by host, the rest (group, plain) in a list. */
interface HostIndex {
  hosts: Map<string, KeyFile[]>;
  others: KeyFile[];
  /** No group-specific file: best() depends on the host alone (memo). */
  groupFree: boolean;
  memo: Map<string, KeyFile | undefined>;
}

export class HostKeyStore {
  readonly dir: string;
  parseCount = 0;
  private readonly dirs = new DirCache();
  private readonly data: FileCache<string>;
  private readonly scans = new WeakMap<string[], KeyFile[]>();
  private readonly indexes = new WeakMap<KeyFile[], Map<string, HostIndex>>();
  private readonly generating = new Map<string, Promise<void>>();
  /** Per build: the generation of missing keys, or true when none was missing. */
  private readonly ensured = new WeakMap<ClientMetadata, Promise<void> | true>();
  // A `.crypt` name is tried first: the plain pattern would read "H_web1.crypt" as host "web1.crypt".
  private readonly patterns = KEY_BASENAMES.flatMap((b) => [
    { basename: b, re: specificRegex([b], ["crypt"]), encrypted: true },
    { basename: b, re: specificRegex([b], []), encrypted: false },
  ]);

  constructor(
    repo: string,
    /** [encryption]: what `.crypt` key files are decrypted with. */
    private readonly encryption?: EncryptionSettings,
    /** [sshbase] passphrase: private keys are written encrypted with it. */
    private readonly encrypt?: EncryptWith,
  ) {
    this.dir = join(repo, "SSHbase");
    this.data = new FileCache((text) => {
      this.parseCount++;
      return text;
    });
  }

  /** All key files, classified (cached while the directory is unchanged). */
  files(): KeyFile[] {
    // The classification out of line (this is inlined where every host key binds).
    const listing = this.dirs.list(this.dir);
    return this.scans.get(listing) ?? this.classify(listing);
  }

  private classify(listing: string[]): KeyFile[] {
    const files: KeyFile[] = [];
    for (const name of listing) {
      if (isIgnoredName(name)) continue;
      for (const p of this.patterns) {
        const m = p.re.exec(name);
        if (m) {
          files.push({ basename: p.basename, spec: specificityFromMatch(m), path: join(this.dir, name), name, ...(p.encrypted ? { encrypted: true } : {}) });
          break;
        }
      }
    }
    this.scans.set(listing, files);
    return files;
  }

  /** Static known_hosts lines: SSHbase/*.static files. */
  staticFiles(): string[] {
    return this.dirs
      .list(this.dir)
      .filter((n) => n.endsWith(".static") && !isIgnoredName(n))
      .map((n) => join(this.dir, n));
  }

  /** A key file's text; a host-specific file is read only when it resolves inside SSHbase/ (confinedPath). */
  readKey(f: KeyFile): string {
    const text = this.read(f.spec.kind === "host" ? confinedPath(this.dir, f.name) : f.path);
    return f.encrypted ? this.decrypt(text, f.path) : text;
  }

  /** Upstream's bruteforce_decrypt: every [encryption] passphrase in turn. */
  private decrypt(text: string, path: string): string {
    const opened = this.encryption ? decryptWithAny(text, this.encryption) : undefined;
    if (!opened) throw new VacfgError("DECRYPT", `SSHbase: Failed to decrypt ${path}: ${this.encryption?.passphrases.size ? "no [encryption] passphrase opens it" : "vacfg.conf has no [encryption] passphrases"}`);
    return opened.plaintext.toString("utf8");
  }

  /** A private key as stored: encrypted with the [sshbase] passphrase when one is set. */
  private stored(basename: string, data: string | Buffer): { suffix: string; data: string | Buffer } {
    const suffix = this.cryptSuffix(basename);
    return suffix ? { suffix, data: sslEncrypt(data, this.encrypt!.passphrase, this.encrypt!.algorithm) } : { suffix, data };
  }

  private cryptSuffix(basename: string): string {
    return this.encrypt && !basename.endsWith(".pub") ? ".crypt" : "";
  }

  read(path: string): string {
    const v = this.data.get(path);
    if (v === undefined) throw new Error(`${path} disappeared`);
    return v;
  }

  best(basename: string, meta: ClientMetadata): KeyFile | undefined {
    const byHost = this.indexed().get(basename);
    if (!byHost) return undefined;
    // Without group files the answer depends on the host alone: kept per host while the listing is the same.
    if (byHost.groupFree && byHost.memo.has(meta.hostname)) return byHost.memo.get(meta.hostname);
    // Other hosts' files never apply: only this host's, the group files and the plain one are candidates.
    const own = byHost.hosts.get(meta.hostname);
    const best = bestMatching(own ? [...own, ...byHost.others] : byHost.others, meta);
    if (byHost.groupFree) byHost.memo.set(meta.hostname, best);
    return best;
  }

  /** files() by basename, host-specific ones by host (a lookup, not a scan of every client's keys). */
  private indexed(): Map<string, HostIndex> {
    const files = this.files();
    return this.indexes.get(files) ?? this.index(files);
  }

  private index(files: KeyFile[]): Map<string, HostIndex> {
    const index = new Map<string, HostIndex>();
    for (const f of files) {
      let slot = index.get(f.basename);
      if (!slot) index.set(f.basename, (slot = { hosts: new Map(), others: [], groupFree: true, memo: new Map() }));
      if (f.spec.kind === "group") slot.groupFree = false;
      if (f.spec.kind === "host") {
        const mine = slot.hosts.get(f.spec.hostname);
        if (mine) mine.push(f);
        else slot.hosts.set(f.spec.hostname, [f]);
      }
      else slot.others.push(f);
    }
    this.indexes.set(files, index);
    return index;
  }

  /** Replaces (or creates) a client's own key file with `data` atomically; returns its path. */
  async writeHostKey(basename: string, host: string, data: Buffer): Promise<string> {
    const name = `${basename}.H_${checkClientName(host)}`;
    const out = this.stored(basename, data);
    const path = confinedPath(this.dir, name + out.suffix);
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(path, out.data, { mode: basename.endsWith(".pub") ? 0o644 : 0o600 });
    // the other form (plain or .crypt) would be a second file of the same specificity
    rmSync(confinedPath(this.dir, out.suffix ? name : `${name}.crypt`), { force: true });
    return path;
  }

  /**
   * Generates the client's missing host keys (every KEY_TYPE), once: concurrent callers share
   * one generation, and files are created exclusively, so other server processes never
   * overwrite a key that exists.
   */
  ensureKeys(meta: ClientMetadata, delivered?: KeyType): Promise<void> | undefined {
    // Once per build (a build binds up to seven SSHbase entries, each asking). Undefined when every
    // key exists (most builds): the entries then bind without a promise each.
    let done = this.ensured.get(meta);
    if (done === undefined) this.ensured.set(meta, (done = this.ensureKeysNow(meta, delivered) ?? true));
    return done === true ? undefined : done;
  }

  private ensureKeysNow(meta: ClientMetadata, delivered?: KeyType): Promise<void> | undefined {
    // A type the client was delivered in its parameters is never generated (nobody would get it).
    const missing = KEY_TYPES.filter((t) => t !== delivered).filter((t) => !this.best(`ssh_host_${t}_key`, meta) || !this.best(`ssh_host_${t}_key.pub`, meta));
    if (missing.length === 0) return undefined;
    const host = meta.hostname;
    let p = this.generating.get(host);
    if (!p) {
      p = Promise.all(missing.map((t) => this.generate(host, t)))
        .then(() => undefined)
        .finally(() => this.generating.delete(host));
      this.generating.set(host, p);
    }
    return p;
  }

  private async generate(host: string, type: KeyType): Promise<void> {
    checkClientName(host);
    const basename = `ssh_host_${type}_key`;
    const priv = confinedPath(this.dir, `${basename}.H_${host}${this.cryptSuffix(basename)}`);
    const pub = confinedPath(this.dir, `${basename}.pub.H_${host}`);
    // a private key in either form (plain, or .crypt from bcfg2-crypt or an earlier passphrase) is kept
    const forms = [`${basename}.H_${host}`, `${basename}.H_${host}.crypt`].map((n) => confinedPath(this.dir, n));
    if (!forms.some((f) => existsSync(f))) {
      const pair = await generateKeyPair({ type, comment: `root@${host}` });
      if (await createFileExclusive(priv, this.stored(basename, pair.privateKey).data.toString(), 0o600)) {
        await createFileExclusive(pub, pair.publicKey, 0o644);
        return;
      }
    }
    // The private key exists (maybe written by another process just now): derive its public half if missing.
    const existing = forms.find((f) => existsSync(f));
    if (!existsSync(pub) && existing) {
      const text = readFileSync(existing, "utf8");
      await createFileExclusive(pub, await publicKeyOf(existing.endsWith(".crypt") ? this.decrypt(text, existing) : text), 0o644);
    }
  }
}
