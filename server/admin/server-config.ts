// vacfg.conf: the server's configuration file (INI, bcfg2.conf's section and key names where
// Bcfg2 has them) → ServerSettings plus where to listen, the TLS material and the store URL.
import { existsSync, readFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { dirname, resolve } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import type { ServerSettings } from "../core/context.js";
import { parseEd25519Key } from "../../protocol/ed25519-key.js";
import { DEFAULT_PLUGINS } from "../plugins/registry.js";
import { packagesOptions } from "../plugins/packages/options.js";
import { CTX_PUBLIC_KEY } from "./ctx-signing-key.js";
import { parseIni, type IniValue } from "../../lib/ini.js";
import { DURATION_FORM, parseDuration } from "../../lib/duration.js";
import { encryptionSettings } from "../plugins/shared/encryption.js";
import { sslCaSettings } from "../plugins/cfg/ssl-ca-settings.js";

export const DEFAULT_PORT = 6789;
export { DEFAULT_PLUGINS };

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

export interface ServerConfig {
  settings: ServerSettings;
  listen: { host: string; port: number };
  /** PEM contents, read from `tlsFiles`. */
  tls: { cert: string; key: string; ca: string };
  tlsFiles: TlsFiles;
  storeUrl: string;
  bodyLimit?: number;
  gzipMinBytes?: number;
  /** [reporting] keep_runs: how long stored runs are kept (ms); unset keeps them all. */
  keepRunsMs?: number;
}

const AUTH_MODES = ["cert", "cert+password", "bootstrap"] as const;

/** Machine name used for the server certificate's CN. */
export function defaultHostname(): string {
  return osHostname().toLowerCase() || "localhost";
}

export function loadServerConfig(path: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new VacfgError("SERVER_CONFIG", `${path}: cannot be read: ${(e as Error).message}`, { cause: e });
  }
  const ini = parseIni(text, path);
  const base = dirname(resolve(path));
  const get = (section: string, key: string): IniValue | undefined => ini.get(section)?.get(key);
  const where = (v: IniValue): string => `${path}:${v.line}`;
  const required = (section: string, key: string): IniValue => {
    const v = get(section, key);
    if (!v || v.value === "") throw new VacfgError("SERVER_CONFIG", `${path}: [${section}] ${key} is required`);
    return v;
  };
  const pathOf = (v: IniValue): string => resolve(base, v.value);
  const intOf = (v: IniValue, min: number, max: number, what: string): number => {
    if (!/^\d+$/.test(v.value) || Number(v.value) < min || Number(v.value) > max) {
      throw new VacfgError("SERVER_CONFIG", `${where(v)}: ${what} must be an integer from ${min} to ${max}, found "${v.value}"`);
    }
    return Number(v.value);
  };
  const readPem = (v: IniValue, what: string): string => {
    try {
      return readFileSync(pathOf(v), "utf8");
    } catch (e) {
      throw new VacfgError("SERVER_CONFIG", `${where(v)}: ${what} ${pathOf(v)} cannot be read: ${(e as Error).message}`, { cause: e });
    }
  };

  const repo = pathOf(required("server", "repository"));
  const pluginsV = get("server", "plugins");
  const plugins = pluginsV ? pluginsV.value.split(/[\s,]+/).filter(Boolean) : DEFAULT_PLUGINS;
  for (const p of plugins) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(p)) throw new VacfgError("SERVER_CONFIG", `${where(pluginsV!)}: "${p}" is not a plugin name`);
  }
  const dataDirV = get("server", "data_dir");
  const dataDir = dataDirV ? pathOf(dataDirV) : base;
  const storeV = get("server", "store");
  // A store value that is not a URL is a SQLite path relative to the configuration file.
  const storeUrl = storeV ? (/^[a-z][a-z0-9+]*:/i.test(storeV.value) ? storeV.value : resolve(base, storeV.value)) : resolve(dataDir, "vacfg.db");

  const password = required("communication", "password").value;
  const authV = get("communication", "authentication");
  let defaultAuth: ServerSettings["defaultAuth"] = "cert+password";
  if (authV) {
    if (!(AUTH_MODES as readonly string[]).includes(authV.value)) {
      throw new VacfgError("SERVER_CONFIG", `${where(authV)}: authentication must be one of ${AUTH_MODES.join(", ")}, found "${authV.value}"`);
    }
    defaultAuth = authV.value as ServerSettings["defaultAuth"];
  }
  const protoV = get("communication", "protocol");
  if (protoV && protoV.value !== "xmlrpc/ssl" && protoV.value !== "xmlrpc/tlsv1") {
    throw new VacfgError("SERVER_CONFIG", `${where(protoV)}: protocol must be xmlrpc/ssl or xmlrpc/tlsv1, found "${protoV.value}"`);
  }

  const allowedV = get("probes", "allowed_groups");
  const allowedProbeGroups = (allowedV?.value.split(/[\n,]+/) ?? [])
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      try {
        return new RegExp(`^(?:${s})$`);
      } catch (e) {
        throw new VacfgError("SERVER_CONFIG", `${where(allowedV!)}: allowed_groups "${s}" is not a valid regex: ${(e as Error).message}`);
      }
    });

  // Listen address: vacfg's listen_host/listen_port, else Bcfg2's [components] bcfg2 URL.
  let host = "0.0.0.0";
  let port = DEFAULT_PORT;
  const comp = get("components", "bcfg2");
  if (comp) {
    const m = /^https:\/\/([^/:\]]+|\[[^\]]+\])(?::(\d+))?\/?$/.exec(comp.value);
    if (!m) throw new VacfgError("SERVER_CONFIG", `${where(comp)}: bcfg2 must be a URL like https://host:6789, found "${comp.value}"`);
    host = m[1].replace(/^\[|\]$/g, "");
    if (m[2]) port = intOf({ value: m[2], line: comp.line }, 0, 65535, "port");
  }
  const hostV = get("communication", "listen_host");
  if (hostV) host = hostV.value;
  const portV = get("communication", "listen_port");
  if (portV) port = intOf(portV, 0, 65535, "listen_port");

  const tlsFiles: TlsFiles = {
    cert: pathOf(required("communication", "certificate")),
    key: pathOf(required("communication", "key")),
    ca: pathOf(required("communication", "ca")),
  };
  const tls = {
    cert: readPem(required("communication", "certificate"), "certificate"),
    key: readPem(required("communication", "key"), "key"),
    ca: readPem(required("communication", "ca"), "ca"),
  };

  // The site's parameter-signing public keys: [context] public_key (paths, comma separated), else
  // the ctx-signing.pub `vacfg init` put beside this file.
  const keyV = get("context", "public_key");
  const keyPaths = keyV ? keyV.value.split(/[\n,]+/).map((k) => k.trim()).filter(Boolean).map((k) => ({ value: k, line: keyV.line })) : [];
  if (!keyV && existsSync(resolve(base, CTX_PUBLIC_KEY))) keyPaths.push({ value: CTX_PUBLIC_KEY, line: 0 });
  const contextKeys = keyPaths.map((v) => {
    const pem = readPem(v, "[context] public_key");
    try {
      parseEd25519Key(pem, "public", pathOf(v));
    } catch (e) {
      throw new VacfgError("SERVER_CONFIG", `${where(v)}: ${(e as Error).message}`, { cause: e });
    }
    return pem;
  });
  const unsignedV = get("context", "allow_unsigned");
  if (unsignedV && !/^(true|false|yes|no|1|0|on|off)$/i.test(unsignedV.value)) {
    throw new VacfgError("SERVER_CONFIG", `${where(unsignedV)}: allow_unsigned must be true or false, found "${unsignedV.value}"`);
  }
  const contextAllowUnsigned = !!unsignedV && /^(true|yes|1|on)$/i.test(unsignedV.value);

  const cfg: ServerConfig = {
    settings: { repo, dataDir, password, plugins, defaultAuth, allowedProbeGroups, contextKeys, contextAllowUnsigned },
    listen: { host, port },
    tls,
    tlsFiles,
    storeUrl,
  };
  const limitV = get("server", "max_request_bytes");
  if (limitV) cfg.bodyLimit = intOf(limitV, 1024, 2 ** 31, "max_request_bytes");
  const keepV = get("reporting", "keep_runs");
  if (keepV) {
    cfg.keepRunsMs = parseDuration(keepV.value);
    if (cfg.keepRunsMs === undefined) throw new VacfgError("SERVER_CONFIG", `${where(keepV)}: keep_runs must be ${DURATION_FORM}, found "${keepV.value}"`);
  }
  const regV = get("metadata", "registration");
  if (regV) {
    if (!/^(on|off)$/.test(regV.value)) throw new VacfgError("SERVER_CONFIG", `${where(regV)}: registration must be on or off, found "${regV.value}"`);
    cfg.settings.registration = regV.value === "on";
  }
  const rateV = get("metadata", "registrations_per_hour");
  if (rateV) cfg.settings.registrationsPerHour = intOf(rateV, 0, 1_000_000, "registrations_per_hour");
  if (ini.has("packages")) cfg.settings.packages = packagesOptions(ini.get("packages"), path, base);
  if (ini.has("encryption")) cfg.settings.encryption = encryptionSettings(ini.get("encryption"), path);
  const sslCa = sslCaSettings(ini, path, base, cfg.settings.encryption);
  if (sslCa) cfg.settings.sslCa = sslCa;
  // upstream reads [sshkeys] and [sshbase] alone (their options exist, so [cfg] is never a fallback)
  const passphraseName = (v: { value: string; line: number }) => {
    const name = v.value.toLowerCase();
    if (!cfg.settings.encryption?.passphrases.has(name)) throw new VacfgError("SERVER_CONFIG", `${where(v)}: passphrase "${v.value}" is not a passphrase of [encryption]`);
    return name;
  };
  const sshCategory = get("sshkeys", "category");
  const sshPassphrase = get("sshkeys", "passphrase");
  if (sshCategory || sshPassphrase) {
    cfg.settings.sshKeys = { ...(sshCategory ? { category: sshCategory.value } : {}), ...(sshPassphrase ? { passphrase: passphraseName(sshPassphrase) } : {}) };
  }
  const sshbasePassphrase = get("sshbase", "passphrase");
  if (sshbasePassphrase) cfg.settings.sshbasePassphrase = passphraseName(sshbasePassphrase);
  const gzV = get("server", "gzip_min_bytes");
  if (gzV) cfg.gzipMinBytes = intOf(gzV, 0, 2 ** 31, "gzip_min_bytes");
  return cfg;
}
