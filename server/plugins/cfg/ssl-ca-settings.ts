// bcfg2.conf's SSL CA options, as upstream's CfgSSLCACertCreator reads them: [sslca_NAME] config,
// passphrase, chaincert, root_ca; [sslca] (else [cfg]) category and passphrase.
import { resolve } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import type { IniFile } from "../../../lib/ini.js";
import type { EncryptionSettings, SslCa, SslCaSettings } from "../../core/context.js";

const BOOL = /^(true|false|yes|no|1|0|on|off)$/i;

/** The SSL CA settings of vacfg.conf, or undefined when it has none. Paths are relative to the file. */
export function sslCaSettings(ini: IniFile, source: string, base: string, encryption: EncryptionSettings | undefined): SslCaSettings | undefined {
  const cas = new Map<string, SslCa>();
  for (const [section, keys] of ini) {
    if (!section.startsWith("sslca_")) continue;
    const name = section.slice("sslca_".length);
    const config = keys.get("config");
    if (!config || config.value === "") throw new VacfgError("SERVER_CONFIG", `${source}: [${section}] config (the CA's openssl.cnf) is required`);
    const rootV = keys.get("root_ca");
    if (rootV && !BOOL.test(rootV.value)) throw new VacfgError("SERVER_CONFIG", `${source}:${rootV.line}: root_ca must be true or false, found "${rootV.value}"`);
    const ca: SslCa = { config: resolve(base, config.value), rootCa: !!rootV && /^(true|yes|1|on)$/i.test(rootV.value) };
    const pass = keys.get("passphrase");
    if (pass) ca.passphrase = pass.value;
    const chain = keys.get("chaincert");
    if (chain) ca.chaincert = resolve(base, chain.value);
    cas.set(name, ca);
  }
  const pick = (key: string) => ini.get("sslca")?.get(key) ?? ini.get("cfg")?.get(key);
  const category = pick("category");
  const passphrase = pick("passphrase");
  if (passphrase && !encryption?.passphrases.has(passphrase.value.toLowerCase())) {
    throw new VacfgError("SERVER_CONFIG", `${source}:${passphrase.line}: passphrase "${passphrase.value}" is not a passphrase of [encryption]`);
  }
  if (cas.size === 0 && !category && !passphrase) return undefined;
  return { cas, ...(category ? { category: category.value } : {}), ...(passphrase ? { passphrase: passphrase.value.toLowerCase() } : {}) };
}
