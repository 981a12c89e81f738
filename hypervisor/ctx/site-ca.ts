// The site CA for contextualization: create one when a site has none, load it, and issue host
// certificates whose CN is the node name and whose subjectAltName holds its DNS name and IP.
// The X.509 work is the server's own (server/admin/tls-material.ts), so both sides issue alike.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { createCa, issueCertificate, type PemPair } from "../../server/admin/tls-material.js";
import { writeFileAtomic } from "../../lib/atomic-file.js";

/** The CA's certificate and key, PEM. */
export type SiteCa = PemPair;
export type HostCertificate = PemPair;

/** Creates a self-signed site CA. */
export function createSiteCa(opts: { commonName?: string } = {}): PemPair {
  return createCa(opts.commonName ?? "vacfg site CA");
}

/** Writes a new CA into dir as ca.pem / ca.key (key 0600), each via a temp file + rename. */
export function writeSiteCa(dir: string, opts?: { commonName?: string }): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const ca = createSiteCa(opts);
  const cert = join(dir, "ca.pem");
  const key = join(dir, "ca.key");
  writeFileAtomic(key, ca.keyPem, { mode: 0o600 });
  writeFileAtomic(cert, ca.certPem, { mode: 0o644 });
  return { cert, key };
}

/** Reads and checks the CA files, so a broken site file fails before any node is bound. */
export function loadSiteCa(certPath: string, keyPath: string): SiteCa {
  try {
    const certPem = readFileSync(certPath, "utf8");
    const keyPem = readFileSync(keyPath, "utf8");
    if (!new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))) throw new Error("the key does not belong to the certificate");
    return { certPem, keyPem };
  } catch (err) {
    throw new VacfgError("CTX_BINDING", `site CA ${certPath} / ${keyPath}: ${(err as Error).message}`, { cause: err });
  }
}

/** Issues a server+client certificate for one node, signed by the site CA. */
export function issueHostCertificate(ca: SiteCa, host: { commonName: string; dnsNames: string[]; ips: string[]; days?: number }): HostCertificate {
  return issueCertificate(ca, { cn: host.commonName, altNames: [...host.dnsNames, ...host.ips], usage: "host", days: host.days ?? 825 });
}
