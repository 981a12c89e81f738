// A real OpenSSL CA directory as upstream's SSL CA howto builds one (openssl.cnf with absolute paths,
// index.txt, serial, newcerts/, a passphrase-protected CA key), for sslcert.xml tests.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestCa {
  dir: string;
  config: string;
  cert: string;
  passphrase: string;
}

/** Makes the CA in `dir`. `unique_subject = no`: two servers may issue for the same client name from it. */
export function makeTestCa(dir: string, passphrase = "ca-secret"): TestCa {
  mkdirSync(join(dir, "newcerts"), { recursive: true });
  mkdirSync(join(dir, "private"), { recursive: true });
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "index.txt.attr"), "unique_subject = no\n");
  writeFileSync(join(dir, "serial"), "1000\n");
  const config = join(dir, "openssl.cnf");
  writeFileSync(
    config,
    [
      "[ ca ]",
      "default_ca = CA_default",
      "[ CA_default ]",
      `dir = ${dir}`,
      "database = $dir/index.txt",
      "new_certs_dir = $dir/newcerts",
      "certificate = $dir/ca.crt",
      "private_key = $dir/private/ca.key",
      "serial = $dir/serial",
      "default_md = sha256",
      "policy = policy_anything",
      "copy_extensions = copy",
      "unique_subject = no",
      "x509_extensions = usr_cert",
      "[ policy_anything ]",
      "countryName = optional",
      "stateOrProvinceName = optional",
      "localityName = optional",
      "organizationName = optional",
      "organizationalUnitName = optional",
      "commonName = supplied",
      "emailAddress = optional",
      "[ usr_cert ]",
      "basicConstraints = CA:FALSE",
      "keyUsage = digitalSignature, keyEncipherment",
      "extendedKeyUsage = serverAuth, clientAuth",
      "",
    ].join("\n"),
  );
  const cert = join(dir, "ca.crt");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-days", "3650", "-subj", "/O=vacfg test/CN=Test Site CA", "-keyout", join(dir, "private/ca.key"), "-out", cert, "-passout", `pass:${passphrase}`], { stdio: "ignore" });
  return { dir, config, cert, passphrase };
}
