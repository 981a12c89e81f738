// What every plugin is given when it is constructed: where the repository is, the store,
// a logger, and the server settings. Plugins find each other's roles through `core`.
import type { Logger } from "pino";
import type { CoreStore } from "../store/store.js";
import type { AnyPlugin, MetadataRole } from "./roles.js";

/** The [encryption] section of vacfg.conf (bcfg2.conf's): see plugins/shared/encryption.ts. */
export interface EncryptionSettings {
  /** Named passphrases (every key of [encryption] but `algorithm` and `lax_decryption`), names in lower case as ConfigParser reads them. */
  passphrases: Map<string, string>;
  /** Upstream's M2Crypto name (`aes_256_cbc`), lower case with `_`. */
  algorithm: string;
  /** lax_decryption: a value that does not decrypt is logged and left as it is, instead of failing its file. */
  lax: boolean;
}

export interface ServerSettings {
  /** Repository root (Bcfg2 layout). */
  repo: string;
  /** Directory for the SQLite file, TLS material, generated keys. */
  dataDir: string;
  /** Site-wide client password ([communication] password). */
  password: string;
  /** Plugins to load, in order (Bcfg2's [server] plugins). */
  plugins: string[];
  /** Default auth mode for clients without auth= ("cert+password" like Bcfg2). */
  defaultAuth: "cert" | "cert+password" | "bootstrap";
  /** Probe groups a client may assert (regexes); empty = any. */
  allowedProbeGroups: RegExp[];
  /** [rules] regex: Rules entry names are regexes (upstream default false). */
  rulesRegex?: boolean;
  /** [rules] replace_name: %{name} in Rules attributes becomes the entry name. */
  rulesReplaceName?: boolean;
  /** [defaults] replace_name: the same for Defaults. */
  defaultsReplaceName?: boolean;
  /**
   * Inspection (`vacfg info`): nothing is written. An unknown client is not registered (it gets
   * the default profile in memory) and keys that do not exist yet are not generated.
   */
  readOnly?: boolean;
  /** [context] public_key: the site's Ed25519 public keys (PEM) that parameter files must be signed with. */
  contextKeys?: string[];
  /** [context] allow_unsigned: a lab setting; unsigned parameter files derive groups too (logged). */
  contextAllowUnsigned?: boolean;
  /** [metadata] registration: unknown clients are added to clients.xml on first contact (default on, as upstream). */
  registration?: boolean;
  /** [metadata] registrations_per_hour: new clients one address may register per hour (default 30; 0 = no limit). */
  registrationsPerHour?: number;
  /** [packages]: the Packages plugin's options (upstream bcfg2.conf's [packages]); unset keys come from Packages/packages.conf, then upstream's defaults. */
  packages?: PackagesOptions;
  /** [encryption]: passphrases for `.crypt` Cfg files and `encrypted="NAME"` elements. */
  encryption?: EncryptionSettings;
  /** [sslca_NAME] sections and [sslca]/[cfg] category and passphrase: Cfg's sslcert.xml/sslkey.xml creators. */
  sslCa?: SslCaSettings;
  /**
   * [sshkeys] category and passphrase: Cfg's privkey.xml creator (upstream CfgPrivateKeyCreator) makes
   * keys specific to the client's group in that category, and encrypts private keys (FILE.H_host.crypt)
   * with that [encryption] passphrase NAME (lower case).
   */
  sshKeys?: { category?: string; passphrase?: string };
  /** [sshbase] passphrase: the [encryption] passphrase NAME SSHbase encrypts the private host keys it generates with. */
  sshbasePassphrase?: string;
}

/** One [sslca_NAME] section: an OpenSSL CA, as upstream's CfgSSLCACertCreator reads it. */
export interface SslCa {
  /** `config`: the CA's openssl.cnf (absolute paths inside, as upstream requires). */
  config: string;
  /** `passphrase`: of the CA's private key. */
  passphrase?: string;
  /** `chaincert`: the CA (or chain) certificate generated certificates are verified against. */
  chaincert?: string;
  /** `root_ca`: chaincert is a root CA (verify with -CAfile) rather than an intermediate. */
  rootCa: boolean;
}

export interface SslCaSettings {
  /** The CAs by name (`default` for [sslca_default]). */
  cas: Map<string, SslCa>;
  /** [sslca] category, else [cfg] category: created keys and certificates are specific to the client's group in it. */
  category?: string;
  /** [sslca] passphrase, else [cfg] passphrase: the [encryption] passphrase NAME created files are encrypted with (FILE.H_host.crypt). */
  passphrase?: string;
}

/** upstream's [packages] options that apply to APT sources. */
export interface PackagesOptions {
  /** Where downloaded indexes are kept (default DATA_DIR/packages-cache). */
  cache?: string;
  /** false: no dependency resolution (resolver = disabled). */
  resolver?: boolean;
  /** false: no index metadata at all, which also disables the resolver (metadata = disabled). */
  metadata?: boolean;
  /** The version= given to every Package entry: "auto" (default) or "any". */
  version?: "auto" | "any";
  /** The Path entry that receives the client's APT sources list. */
  aptConfig?: string;
  /** The yum config Path, which upstream also binds (with the APT text for APT clients). */
  yumConfig?: string;
}

/** How a read-only inspection's bind failure for a key that does not exist yet begins. */
export const NOT_GENERATED_YET = "not generated yet: ";

/** Why a key is missing from a read-only inspection (the bind failure text). */
export function notGeneratedYet(what: string, client: string): string {
  return `${NOT_GENERATED_YET}${what} is created on ${client}'s first run (read-only inspection writes nothing)`;
}

export interface PluginContext {
  settings: ServerSettings;
  store: CoreStore;
  logger: Logger;
  /** The Metadata plugin, for plugins that need other clients' names (SSHbase). Set before init(). */
  metadata: () => MetadataRole;
  /** All loaded plugins (for plugins that cooperate, e.g. Cfg asking Properties). */
  plugins: () => AnyPlugin[];
}

export type PluginFactory = (ctx: PluginContext) => AnyPlugin;
