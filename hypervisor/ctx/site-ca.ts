// The site CA (node-forge): create one when a site has none, load it, and issue host
// certificates whose CN is the node name and whose subjectAltName holds its DNS name and IP.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";
import { VacfgError } from "../../protocol/errors.js";

export interface SiteCa {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
  certPem: string;
}

export interface HostCertificate {
  certPem: string;
  keyPem: string;
}

// Keys come from node's native RSA generator (pure-JS generation takes seconds per key);
// forge does the X.509 building and signing.
function newRsaKey(bits: number): { pub: forge.pki.rsa.PublicKey; priv: forge.pki.rsa.PrivateKey; privPem: string } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  const privPem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const priv = forge.pki.privateKeyFromPem(privPem) as forge.pki.rsa.PrivateKey;
  const pub = forge.pki.setRsaPublicKey(priv.n, priv.e);
  return { pub, priv, privPem };
}

function serial(): string {
  // Positive 16-byte serial: clear the top bit so DER does not read it as negative.
  const b = randomBytes(16);
  b[0] &= 0x7f;
  return b.toString("hex");
}

function validity(cert: forge.pki.Certificate, days: number): void {
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60 * 1000); // tolerate small clock skew
  cert.validity.notAfter = new Date(now.getTime() + days * 86400 * 1000);
}

/** Creates a self-signed site CA. */
export function createSiteCa(opts: { commonName?: string; days?: number; bits?: number } = {}): { certPem: string; keyPem: string } {
  const k = newRsaKey(opts.bits ?? 2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = k.pub;
  cert.serialNumber = serial();
  validity(cert, opts.days ?? 3650);
  const attrs = [{ name: "commonName", value: opts.commonName ?? "vacfg site CA" }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(k.priv, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: k.privPem };
}

/** Writes a new CA into dir as ca.pem / ca.key (key 0600), each via a temp file + rename. */
export function writeSiteCa(dir: string, opts?: { commonName?: string }): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const ca = createSiteCa(opts);
  const cert = join(dir, "ca.pem");
  const key = join(dir, "ca.key");
  writeFileSync(`${key}.tmp`, ca.keyPem, { mode: 0o600 });
  renameSync(`${key}.tmp`, key);
  writeFileSync(`${cert}.tmp`, ca.certPem, { mode: 0o644 });
  renameSync(`${cert}.tmp`, cert);
  return { cert, key };
}

export function loadSiteCa(certPath: string, keyPath: string): SiteCa {
  try {
    const certPem = readFileSync(certPath, "utf8");
    const cert = forge.pki.certificateFromPem(certPem);
    const key = forge.pki.privateKeyFromPem(readFileSync(keyPath, "utf8")) as forge.pki.rsa.PrivateKey;
    return { cert, key, certPem };
  } catch (err) {
    throw new VacfgError("CTX_BINDING", `site CA ${certPath} / ${keyPath}: ${(err as Error).message}`, { cause: err });
  }
}

/** Issues a server+client certificate for one node, signed by the site CA. */
export function issueHostCertificate(
  ca: SiteCa,
  host: { commonName: string; dnsNames: string[]; ips: string[]; days?: number; bits?: number },
): HostCertificate {
  const k = newRsaKey(host.bits ?? 2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = k.pub;
  cert.serialNumber = serial();
  validity(cert, host.days ?? 825);
  cert.setSubject([{ name: "commonName", value: host.commonName }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    {
      name: "subjectAltName",
      altNames: [...host.dnsNames.map((value) => ({ type: 2, value })), ...host.ips.map((ip) => ({ type: 7, ip }))],
    },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: k.privPem };
}
