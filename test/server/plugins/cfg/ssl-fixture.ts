// Shared by the sslcert.xml tests and the migration compat suite: a site with SSL keys and certificates
// from a CA, and what a served key and certificate certify (compared across servers, not by bytes).
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { descendants, parseXml } from "../../../../protocol/xml.js";
import { firstCertificate } from "../../../../server/plugins/cfg/ssl-creators.js";
import type { TestCa } from "../../../support/openssl-ca.js";

/** What a certificate and its key certify, for comparing two servers' independently made ones. */
export function certified(certText: string, keyText: string) {
  const cert = firstCertificate(certText);
  expect(cert, "a PEM certificate").to.not.equal(undefined);
  const key = createPrivateKey(keyText);
  const days = Math.round((Date.parse(cert!.validTo) - Date.parse(cert!.validFrom)) / 86_400_000);
  return {
    subject: cert!.subject,
    subjectAltName: cert!.subjectAltName,
    issuer: cert!.issuer,
    days,
    keyType: key.asymmetricKeyType,
    keyBits: key.asymmetricKeyDetails?.modulusLength,
    certBelongsToKey: cert!.checkPrivateKey(key),
  };
}

export function pathText(config: string, name: string): string {
  const e = descendants(parseXml(config), "Path").find((p) => p.attrs.name === name);
  expect(e, name).to.not.equal(undefined);
  expect(e!.attrs.failure, `${name}: ${e!.attrs.failure}`).to.equal(undefined);
  return e!.text ?? "";
}

export function opensslVerify(caCert: string, certText: string): string {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-verify-"));
  try {
    writeFileSync(join(dir, "c.pem"), firstCertificate(certText)!.toString());
    return execFileSync("openssl", ["verify", "-CAfile", caCert, join(dir, "c.pem")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A site whose web servers get an SSL key (RSA 3072 for group web) and a certificate from the site CA. */
export const SSL_SITE: Record<string, string> = {
  "Metadata/groups.xml": '<Groups>\n  <Group name="web" profile="true"><Bundle name="tls"/></Group>\n  <Group name="db" profile="true"><Bundle name="tls"/></Group>\n</Groups>\n',
  "Metadata/clients.xml":
    '<Clients>\n  <Client name="web1" profile="web" address="127.0.0.1">\n    <Alias name="www.example.org"/>\n  </Client>\n  <Client name="db1" profile="db"/>\n</Clients>\n',
  "Bundler/tls.xml": '<Bundle>\n  <Path name="/etc/ssl/private/host.key"/>\n  <Path name="/etc/ssl/certs/host.crt"/>\n</Bundle>\n',
  "Cfg/etc/ssl/private/host.key/sslkey.xml": '<KeyInfo>\n  <Group name="web"><Key type="rsa" bits="3072"/></Group>\n</KeyInfo>\n',
  "Cfg/etc/ssl/private/host.key/info.xml": '<FileInfo><Info owner="root" group="root" mode="0600"/></FileInfo>\n',
  "Cfg/etc/ssl/certs/host.crt/sslcert.xml": '<CertInfo>\n  <Cert key="/etc/ssl/private/host.key" ca="default" days="30" C="US" O="Example Org"/>\n</CertInfo>\n',
};

export const UPSTREAM_INOTIFY = "[server]\nfilemonitor = inotify\n";

export function sslCaConfig(ca: TestCa): string {
  return `[sslca_default]\nconfig = ${ca.config}\npassphrase = ${ca.passphrase}\nchaincert = ${ca.cert}\nroot_ca = true\n`;
}

