// The site's TLS material: a CA, the server certificate it signs, and client certificates
// for certificate authentication. Keys come from node's native RSA generator (forge's
// pure-JS generation takes seconds); node-forge builds and signs the X.509 certificates.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import forge from "node-forge";
import { VacfgError } from "../../protocol/errors.js";
import { createFileOnce } from "../../lib/atomic-file.js";
import { clientNameProblem, quoteName } from "../core/client-name.js";

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface CertRequest {
  cn: string;
  /** DNS names and IP addresses for subjectAltName. */
  altNames?: string[];
  /** server (serverAuth), client (clientAuth), or host: a node that is both (contextualized appliances). */
  usage: "server" | "client" | "host";
  days?: number;
}

const CA_DAYS = 3650;
const LEAF_DAYS = 3650;

function newRsaKey(): { priv: forge.pki.rsa.PrivateKey; pub: forge.pki.rsa.PublicKey; keyPem: string } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const priv = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  return { priv, pub: forge.pki.setRsaPublicKey(priv.n, priv.e), keyPem };
}

function newCert(pub: forge.pki.PublicKey, days: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = pub;
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive in DER
  cert.serialNumber = serial.toString("hex");
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 5 * 60 * 1000); // tolerate clock skew between hosts
  cert.validity.notAfter = new Date(now + days * 86400 * 1000);
  return cert;
}

/** A self-signed site CA (RSA 2048, SHA-256, 10 years). */
export function createCa(cn = "vacfg site CA"): PemPair {
  const { priv, pub, keyPem } = newRsaKey();
  const cert = newCert(pub, CA_DAYS);
  const subject = [{ name: "commonName", value: cn }, { name: "organizationName", value: "vacfg" }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(priv, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** A leaf certificate signed by `ca`: a server's (serverAuth) or a client's (clientAuth, CN = client name). */
export function issueCertificate(ca: PemPair, req: CertRequest): PemPair {
  let caCert: forge.pki.Certificate;
  let caKey: forge.pki.PrivateKey;
  try {
    caCert = forge.pki.certificateFromPem(ca.certPem);
    caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  } catch (e) {
    throw new VacfgError("TLS_MATERIAL", `site CA cannot be read: ${(e as Error).message}`, { cause: e });
  }
  const { pub, keyPem } = newRsaKey();
  const cert = newCert(pub, req.days ?? LEAF_DAYS);
  cert.setSubject([{ name: "commonName", value: req.cn }]);
  cert.setIssuer(caCert.subject.attributes);
  const alt = [...new Set(req.altNames ?? [])].map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n }));
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: req.usage !== "client", clientAuth: req.usage !== "server" },
    ...(alt.length ? [{ name: "subjectAltName", altNames: alt }] : []),
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new VacfgError("TLS_MATERIAL", `${path}: ${what} cannot be read: ${(e as Error).message}`, { cause: e });
  }
}

export function loadCa(caDir: string): PemPair {
  return { certPem: readPem(join(caDir, "ca.crt"), "CA certificate"), keyPem: readPem(join(caDir, "ca.key"), "CA key") };
}

/**
 * A client certificate (CN = client name) from the CA in `caDir` (ca.crt + ca.key). With `outDir`,
 * also writes OUT/<cn>.crt and OUT/<cn>.key (0600), never replacing existing files.
 */
export function issueClientCertificate(caDir: string, cn: string, outDir?: string): PemPair {
  const problem = clientNameProblem(cn);
  if (problem) throw new VacfgError("TLS_MATERIAL", `client name ${quoteName(cn)} is not a valid certificate name: it ${problem}`);
  const pair = issueCertificate(loadCa(caDir), { cn, usage: "client" });
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    createFileOnce(join(outDir, `${cn}.key`), pair.keyPem, 0o600);
    createFileOnce(join(outDir, `${cn}.crt`), pair.certPem, 0o644);
  }
  return pair;
}

/** File names of the site TLS material inside a tls/ directory. */
export function tlsPaths(tlsDir: string): { caCert: string; caKey: string; cert: string; key: string } {
  return { caCert: join(tlsDir, "ca.crt"), caKey: join(tlsDir, "ca.key"), cert: join(tlsDir, "server.crt"), key: join(tlsDir, "server.key") };
}

/**
 * Creates whatever of the CA and server certificate is missing in `tlsDir`; never replaces a file.
 * Returns the paths it created.
 */
export function ensureTlsMaterial(tlsDir: string, hostname: string): string[] {
  mkdirSync(tlsDir, { recursive: true, mode: 0o755 });
  const p = tlsPaths(tlsDir);
  const created: string[] = [];
  if (!existsSync(p.caCert) && !existsSync(p.caKey)) {
    const ca = createCa(`vacfg site CA (${hostname})`);
    if (createFileOnce(p.caKey, ca.keyPem, 0o600)) created.push(p.caKey);
    if (createFileOnce(p.caCert, ca.certPem, 0o644)) created.push(p.caCert);
  }
  if (!existsSync(p.cert) && !existsSync(p.key)) {
    const pair = issueCertificate(loadCa(tlsDir), { cn: hostname, altNames: ["localhost", "127.0.0.1", "::1", hostname], usage: "server" });
    if (createFileOnce(p.key, pair.keyPem, 0o600)) created.push(p.key);
    if (createFileOnce(p.cert, pair.certPem, 0o644)) created.push(p.cert);
  }
  return created;
}

