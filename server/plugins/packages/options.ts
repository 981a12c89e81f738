// The [packages] options (upstream bcfg2.conf's section), read from vacfg.conf or from the
// repository's Packages/packages.conf; errors name file:line.
import { resolve } from "node:path";
import { VacfgError, type ErrorCode } from "../../../protocol/errors.js";
import type { IniValue } from "../../../lib/ini.js";
import type { PackagesOptions } from "../../core/context.js";

export const APT_CONFIG_DEFAULT = "/etc/apt/sources.list.d/bcfg2-packages-generated-sources.list";
export const YUM_CONFIG_DEFAULT = "/etc/yum.repos.d/bcfg2.repo";

/** upstream's packages_boolean: "enabled"/"disabled" as well as the usual booleans. */
function flag(v: IniValue, where: string, code: ErrorCode): boolean {
  const s = v.value.toLowerCase();
  if (["enabled", "true", "yes", "on", "1"].includes(s)) return true;
  if (["disabled", "false", "no", "off", "0"].includes(s)) return false;
  throw new VacfgError(code, `${where}:${v.line}: expected enabled/disabled (or a boolean), found "${v.value}"`);
}

/** Reads a [packages] section; relative paths are relative to `base`. */
export function packagesOptions(section: Map<string, IniValue> | undefined, where: string, base: string, code: ErrorCode = "SERVER_CONFIG"): PackagesOptions {
  const out: PackagesOptions = {};
  if (!section) return out;
  for (const [key, v] of section) {
    switch (key) {
      case "cache":
        out.cache = resolve(base, v.value);
        break;
      case "resolver":
        out.resolver = flag(v, where, code);
        break;
      case "metadata":
        out.metadata = flag(v, where, code);
        break;
      case "version":
        if (v.value !== "auto" && v.value !== "any") throw new VacfgError(code, `${where}:${v.line}: version must be auto or any, found "${v.value}"`);
        out.version = v.value;
        break;
      case "apt_config":
      case "yum_config":
        if (!v.value.startsWith("/")) throw new VacfgError(code, `${where}:${v.line}: ${key} must be an absolute client path, found "${v.value}"`);
        out[key === "apt_config" ? "aptConfig" : "yumConfig"] = v.value;
        break;
      case "backends":
        if (!v.value.split(",").some((b) => b.trim().toLowerCase() === "apt")) throw new VacfgError(code, `${where}:${v.line}: vacfg's Packages has the Apt backend only, found "${v.value}"`);
        break;
      default:
        throw new VacfgError(code, `${where}:${v.line}: unknown [packages] option "${key}" (known: backends, cache, resolver, metadata, version, apt_config, yum_config)`);
    }
  }
  return out;
}
