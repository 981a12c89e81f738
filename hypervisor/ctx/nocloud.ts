// Delivery through cloud-init's NoCloud datasource: a volume labelled "cidata" holding
// meta-data and user-data (#cloud-config) that writes the parameter file and applies users/DNS.
// Built without root: mkfs.vfat + mcopy (mtools), or xorriso for iso9660.
import { runCheckedSync } from "../../lib/host-tools.js";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { renameIntoPlace } from "../../lib/atomic-file.js";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { CONTEXT_FILE_PATH, paramValues, serializeParameterFile, type ParamSignature, type ParameterFile } from "../../protocol/params.js";

export interface NoCloudSeed {
  metaData: string;
  userData: string;
}

export interface NoCloudOptions {
  /** Short host name and FQDN of the node. */
  hostname: string;
  fqdn: string;
  instanceId?: string;
  /** Mode of the written parameter file (0600 when any parameter is secret). */
  secret: boolean;
  /** The site's signature of the parameters (assemble()), written into the file with them. */
  signature?: ParamSignature;
  /** Parameter names carrying users, DNS servers and domain (defaults: users, DNSServer, domain). */
  usersParam?: string;
  dnsParam?: string;
  domainParam?: string;
}

/**
 * meta-data and user-data for one node. user-data is "#cloud-config" followed by JSON: JSON is
 * valid YAML for cloud-init, and the agent can read it back without a YAML parser.
 */
export function noCloudSeed(params: ParameterFile, o: NoCloudOptions): NoCloudSeed {
  const instanceId = o.instanceId ?? `vacfg-${o.fqdn}`;
  for (const [k, v] of Object.entries({ hostname: o.hostname, fqdn: o.fqdn, instanceId })) {
    // meta-data is written as plain YAML; keep its scalars free of YAML syntax
    if (!/^[A-Za-z0-9._-]+$/.test(v)) throw new VacfgError("CTX_BINDING", `NoCloud ${k} "${v}" is not a plain host name`);
  }
  const cfg: Record<string, unknown> = {
    hostname: o.hostname,
    fqdn: o.fqdn,
    write_files: [
      {
        path: CONTEXT_FILE_PATH,
        owner: "root:root",
        permissions: o.secret ? "0600" : "0644",
        encoding: "b64",
        content: Buffer.from(serializeParameterFile(params, o.signature), "utf8").toString("base64"),
      },
    ],
  };
  const users = params.get(o.usersParam ?? "users");
  if (users?.kind === "list") {
    cfg.users = [
      "default",
      ...users.items
        .filter((u) => u.name)
        .map((u) =>
          // An item's value is an ssh public key or a crypt(3) password hash.
          /^(ssh-|ecdsa-|sk-)/.test(u.value)
            ? { name: u.name, ssh_authorized_keys: [u.value] }
            : { name: u.name, passwd: u.value, lock_passwd: false },
        ),
    ];
  }
  const dns = paramValues(params, o.dnsParam ?? "DNSServer");
  const domain = paramValues(params, o.domainParam ?? "domain")[0];
  if (dns.length || domain) {
    cfg.manage_resolv_conf = true;
    cfg.resolv_conf = { ...(dns.length ? { nameservers: dns } : {}), ...(domain ? { domain, searchdomains: [domain] } : {}) };
  }
  return {
    metaData: `instance-id: ${instanceId}\nlocal-hostname: ${o.hostname}\n`,
    userData: `#cloud-config\n${JSON.stringify(cfg, null, 2)}\n`,
  };
}

function tool(cmd: string, args: string[]): void {
  // mtools refuses images whose size is not a whole number of "tracks" unless told not to check
  runCheckedSync(cmd, args, { code: "IMAGE", env: { ...process.env, MTOOLS_SKIP_CHECK: "1" } });
}

/** Writes the seed as a "cidata" volume (vfat or iso9660) at `out`, atomically. */
export function buildNoCloudVolume(out: string, seed: NoCloudSeed, format: "vfat" | "iso" = "vfat"): void {
  const work = mkdtempSync(join(tmpdir(), "vacfg-nocloud-"));
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString("hex")}`);
  try {
    const files = { "meta-data": seed.metaData, "user-data": seed.userData };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(work, name), text, { mode: 0o600 });
    if (format === "iso") {
      tool("xorriso", ["-as", "mkisofs", "-quiet", "-output", tmp, "-volid", "cidata", "-joliet", "-rock", work]);
    } else {
      const bytes = Object.values(files).reduce((n, t) => n + Buffer.byteLength(t), 0);
      const kib = Math.max(1440, Math.ceil(bytes / 1024) * 2 + 512);
      // cloud-init matches the label case-insensitively; FAT labels are upper case by convention
      tool("mkfs.vfat", ["-C", "-n", "CIDATA", tmp, String(kib)]);
      for (const name of Object.keys(files)) tool("mcopy", ["-i", tmp, join(work, name), `::${name}`]);
    }
    renameIntoPlace(tmp, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(tmp, { force: true });
  }
}
