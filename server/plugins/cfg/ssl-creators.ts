// Cfg's sslkey.xml / sslcert.xml creators (upstream CfgSSLCAKeyCreator / CfgSSLCACertCreator): when no
// file applies to a client, make its SSL key, or a certificate for it signed by an OpenSSL CA of
// vacfg.conf ([sslca_NAME] config = the CA's openssl.cnf, run with `openssl ca` as upstream does, so
// the CA's own policy, extensions, serial and database apply), and write it into the repository as a
// host- (or group-) specific file, encrypted when [sslca] passphrase names one. Created once, then
// served as a plain file. An existing certificate is checked on every change of it or its key (it
// must belong to the key and, with chaincert, pass `openssl verify`); one that no longer does is
// issued again, as upstream's documentation promises.
import { createHash, createPrivateKey, generateKeyPair, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import type { Logger } from "pino";
import { VacfgError } from "../../../protocol/errors.js";
import type { XmlElement } from "../../../protocol/xml.js";
import { runTool } from "../../../lib/host-tools.js";
import { withFileLock } from "../../../lib/file-lock.js";
import { notGeneratedYet, type ServerSettings, type SslCa } from "../../core/context.js";
import type { ClientMetadata } from "../../core/metadata.js";
import { confinedPath } from "../shared/confined-path.js";
import { SingleFlight } from "../shared/single-flight.js";
import { createFileExclusive, writeFileAtomic } from "../shared/repo-write.js";
import { creatorEncryption, sslEncrypt } from "../shared/encryption.js";
import { matchedSpec } from "../shared/xml-match.js";
import { specificitySuffix } from "./key-creators.js";

const generate = promisify(generateKeyPair);

interface Binder {
  bindEntry(entry: XmlElement, meta: ClientMetadata): Promise<void> | void;
}

/** The Cert attributes upstream copies into the request's subject (code's spelling; the schema's lower case works too). */
const SUBJECT_FIELDS = ["C", "L", "ST", "O", "OU", "emailAddress"];

/** A value inside openssl.cnf: backslash-escape what its parser would expand or cut. */
function cnfValue(v: string): string {
  if (/[\r\n\0]/.test(v)) throw new VacfgError("REPO_FILE", `sslcert.xml: a value holds a line break: ${JSON.stringify(v)}`);
  return v.replace(/[\\$"'#;]/g, (c) => `\\${c}`);
}

/** The first PEM certificate in `text` (upstream's files start with `openssl ca`'s text dump). */
export function firstCertificate(text: string): X509Certificate | undefined {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(text);
  if (!m) return undefined;
  try {
    return new X509Certificate(m[0]);
  } catch {
    return undefined;
  }
}

export class SslCreators {
  private readonly creations = new SingleFlight<string>();
  /** Verdicts on existing certificates, by hash of certificate + key + chain: a bind re-checks only after a change. */
  private readonly verdicts = new Map<string, string | undefined>();
  /** Certificates issued here that failed their own check: not issued again while unchanged. */
  private readonly issuedBad = new Set<string>();

  constructor(
    private readonly cfg: Binder,
    private readonly loadXml: (path: string) => XmlElement | undefined,
    private readonly settings: ServerSettings,
    private readonly logger: Logger,
  ) {}

  private spec(path: string, meta: ClientMetadata): XmlElement {
    return matchedSpec(this.loadXml, path, meta);
  }

  private once(key: string, fn: () => Promise<string>): Promise<string> {
    return this.creations.run(key, fn);
  }

  /** Where created data goes: the entry's name with the specificity suffix, `.crypt` when encrypted ([sslca] passphrase). */
  private target(specPath: string, meta: ClientMetadata): { path: string; passphrase?: string } {
    const dir = dirname(specPath);
    const root = this.loadXml(specPath);
    const suffix = specificitySuffix(root ?? { tag: "", attrs: {}, children: [] }, meta, this.settings.sslCa?.category);
    const passphrase = creatorEncryption(this.settings, this.settings.sslCa?.passphrase, "Cfg")?.passphrase;
    return { path: confinedPath(dir, basename(dir) + suffix + (passphrase !== undefined ? ".crypt" : "")), ...(passphrase !== undefined ? { passphrase } : {}) };
  }

  /** Writes created data once (another process may race us; its file wins), encrypted when configured. */
  private async store(target: { path: string; passphrase?: string }, data: string, mode: number, replace = false): Promise<void> {
    const stored = target.passphrase !== undefined ? sslEncrypt(data, target.passphrase, this.settings.encryption?.algorithm) : data;
    if (replace) await writeFileAtomic(target.path, stored, mode);
    else await createFileExclusive(target.path, stored, mode);
  }

  /** sslkey.xml: `<Key type="rsa|dsa" bits="2048"/>` (under Group/Client); an RSA or DSA key, PKCS#8 PEM as `openssl genrsa` writes it. */
  createKey(specPath: string, meta: ClientMetadata): Promise<string> {
    const target = this.target(specPath, meta);
    return this.once(target.path, async () => {
      if (this.settings.readOnly) throw new VacfgError("REPO_FILE", notGeneratedYet(target.path, meta.hostname));
      const key = this.spec(specPath, meta).children.find((c) => c.tag === "Key");
      const type = key?.attrs.type ?? "rsa";
      const bitsText = key?.attrs.bits ?? "2048";
      if (type !== "rsa" && type !== "dsa") throw new VacfgError("REPO_FILE", `${specPath}: Key type "${type}" is not rsa or dsa`);
      const bits = /^\d+$/.test(bitsText) ? Number(bitsText) : NaN;
      if (!(bits >= 512 && bits <= 16384)) throw new VacfgError("REPO_FILE", `${specPath}: Key bits "${bitsText}" must be a number from 512 to 16384`);
      this.logger.info({ path: target.path, client: meta.hostname }, `Cfg: Generating new SSL key for ${dirname(specPath)}`);
      const pair = type === "rsa" ? await generate("rsa", { modulusLength: bits }) : await generate("dsa", { modulusLength: bits, divisorLength: bits >= 2048 ? 256 : 160 });
      const pem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      await this.store(target, pem, 0o600);
      return pem;
    });
  }

  /** The key the certificate is for: the `key=` entry bound for this client (created by its sslkey.xml when missing). */
  private async keyFor(cert: XmlElement, specPath: string, meta: ClientMetadata): Promise<string> {
    const keyPath = cert.attrs.key;
    if (!keyPath) throw new VacfgError("REPO_FILE", `${specPath}: <Cert> has no key= attribute`);
    const entry: XmlElement = { tag: "Path", attrs: { name: keyPath }, children: [] };
    try {
      await this.cfg.bindEntry(entry, meta);
    } catch (e) {
      throw new VacfgError("REPO_FILE", `Cfg: No SSL key or key creator defined for ${keyPath}: ${(e as Error).message}`, { cause: e });
    }
    return entry.attrs.encoding === "base64" ? Buffer.from(entry.text ?? "", "base64").toString("utf8") : (entry.text ?? "");
  }

  private certSpec(specPath: string, meta: ClientMetadata): { cert: XmlElement; ca: SslCa; caName: string; spec: XmlElement } {
    const spec = this.spec(specPath, meta);
    const cert = spec.children.find((c) => c.tag === "Cert");
    if (!cert) throw new VacfgError("REPO_FILE", `${specPath}: no <Cert> applies to ${meta.hostname}`);
    const caName = cert.attrs.ca ?? "default";
    const ca = this.settings.sslCa?.cas.get(caName);
    if (!ca) throw new VacfgError("REPO_FILE", `Cfg: [sslca_${caName}] section has no 'config' option`);
    return { cert, ca, caName, spec };
  }

  /** sslcert.xml: a certificate for the client's key, its names as subjectAltNames, signed by the CA with `openssl ca`. */
  createCert(specPath: string, meta: ClientMetadata, replace = false): Promise<string> {
    const target = this.target(specPath, meta);
    return this.once(target.path, async () => {
      if (this.settings.readOnly) throw new VacfgError("REPO_FILE", notGeneratedYet(target.path, meta.hostname));
      const { cert, ca, spec } = this.certSpec(specPath, meta);
      const days = cert.attrs.days ?? "365";
      if (!/^\d{1,5}$/.test(days) || Number(days) < 1) throw new VacfgError("REPO_FILE", `${specPath}: Cert days "${days}" must be a whole number of days`);
      const keyPem = await this.keyFor(cert, specPath, meta);
      this.logger.info({ path: target.path, client: meta.hostname }, `Cfg: Generating new SSL cert for ${dirname(specPath)}`);
      const work = mkdtempSync(join(tmpdir(), "vacfg-sslca-"));
      try {
        writeFileSync(join(work, "key.pem"), keyPem, { mode: 0o600 });
        writeFileSync(join(work, "req.cnf"), this.requestConfig(spec, cert, meta));
        await this.openssl(["req", "-new", "-config", join(work, "req.cnf"), "-key", join(work, "key.pem"), "-out", join(work, "req.pem")], "Failed to generate CSR");
        const args = ["ca", "-config", ca.config, "-in", join(work, "req.pem"), "-days", days, "-batch"];
        const env = { ...process.env };
        if (ca.passphrase !== undefined) {
          env.VACFG_SSLCA_PASSPHRASE = ca.passphrase; // not on the command line, where ps shows it
          args.push("-passin", "env:VACFG_SSLCA_PASSPHRASE");
        }
        // `openssl ca` updates the CA's index and serial: one issuer at a time, across server processes.
        let data = await withFileLock(ca.config, () => this.openssl(args, "Failed to generate cert", env), "REPO_FILE");
        if ((cert.attrs.append_chain ?? "false").toLowerCase() === "true" && ca.chaincert) data += await readText(ca.chaincert);
        await this.store(target, data, 0o644, replace);
        return data;
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
  }

  /** Upstream's build_req_config: the request's subject (Cert's C, L, ST, O, OU, emailAddress, then CN = client) and subjectAltNames. */
  private requestConfig(spec: XmlElement, cert: XmlElement, meta: ClientMetadata): string {
    const subject = SUBJECT_FIELDS.flatMap((f) => {
      const v = cert.attrs[f] ?? cert.attrs[f.toLowerCase()];
      return v ? [`${f} = ${cnfValue(v)}`] : [];
    });
    subject.push(`CN = ${cnfValue(meta.hostname)}`);
    // Upstream: the <subjectAltName> texts, the client's aliases, its name. vacfg extension: addresses="true" adds its addresses.
    const names = [...spec.children.filter((c) => c.tag === "subjectAltName").map((c) => (c.text ?? "").trim()).filter(Boolean), ...meta.aliases, meta.hostname];
    if ((cert.attrs.addresses ?? "false").toLowerCase() === "true") names.push(...meta.addresses);
    const counts = { DNS: 0, IP: 0 };
    const alt = names.map((n) => {
      const kind = isIP(n) ? "IP" : "DNS";
      return `${kind}.${++counts[kind]} = ${cnfValue(n)}`;
    });
    return [
      "[ req ]",
      "default_md = sha256",
      "distinguished_name = req_distinguished_name",
      "req_extensions = v3_req",
      "x509_extensions = v3_req",
      "prompt = no",
      "[ req_distinguished_name ]",
      ...subject,
      "[ v3_req ]",
      "subjectAltName = @alt_names",
      "[ alt_names ]",
      ...alt,
      "",
    ].join("\n");
  }

  private async openssl(args: string[], what: string, env?: NodeJS.ProcessEnv): Promise<string> {
    let r;
    try {
      r = await runTool("openssl", args, { timeoutMs: 60_000, ...(env ? { env } : {}) });
    } catch (e) {
      throw new VacfgError("REPO_FILE", `${what}: openssl cannot run: ${(e as Error).message}`, { cause: e });
    }
    if (r.code !== 0) throw new VacfgError("REPO_FILE", `${what}: ${(r.stderr.trim() || r.stdout.trim()).split("\n").slice(-4).join(" | ")}`);
    return r.stdout;
  }

  /**
   * The certificate to serve for an existing one: itself when it checks out; else (logged) a new one
   * issued in its place. A new certificate that fails too (a CA whose chaincert does not match its
   * key) is a bind error, and is not issued again until the certificate, its key or the chain changes.
   */
  async checkedCert(specPath: string, certText: string, meta: ClientMetadata): Promise<string> {
    const problem = await this.certProblem(specPath, certText, meta);
    if (problem === undefined) return certText;
    const name = dirname(specPath).slice(dirname(specPath).indexOf("/Cfg/") + 4);
    if (this.issuedBad.has(certText)) throw new VacfgError("REPO_FILE", `Failed to verify ${name} for ${meta.hostname}: ${problem}`);
    if (this.settings.readOnly) throw new VacfgError("REPO_FILE", `Failed to verify ${name} for ${meta.hostname}: ${problem} (a new certificate is issued on its next run)`);
    this.logger.warn({ client: meta.hostname, entry: name, problem }, `Cfg: certificate ${name} of ${meta.hostname} fails verification (${problem}); issuing a new one`);
    const fresh = await this.createCert(specPath, meta, true);
    const again = await this.certProblem(specPath, fresh, meta);
    if (again !== undefined) {
      if (this.issuedBad.size > 1024) this.issuedBad.clear();
      this.issuedBad.add(fresh);
      throw new VacfgError("REPO_FILE", `Failed to verify ${name} for ${meta.hostname}: ${again}`);
    }
    return fresh;
  }

  /**
   * Upstream's verify_entry for an existing certificate: it must be a certificate, belong to the
   * client's key, and, when the CA has a chaincert, pass `openssl verify` against it (which also
   * refuses an expired one). Returns the problem, or undefined when it is good.
   */
  async certProblem(specPath: string, certText: string, meta: ClientMetadata): Promise<string | undefined> {
    const { cert, ca } = this.certSpec(specPath, meta);
    const keyPem = await this.keyFor(cert, specPath, meta);
    const chain = ca.chaincert ? await readText(ca.chaincert) : "";
    const id = createHash("sha256").update(certText).update("\0").update(keyPem).update("\0").update(chain).update(String(ca.rootCa)).digest("hex");
    if (this.verdicts.has(id)) return this.verdicts.get(id);
    let problem: string | undefined;
    const x509 = firstCertificate(certText);
    if (!x509) problem = "not a PEM certificate";
    else {
      try {
        if (!x509.checkPrivateKey(createPrivateKey(keyPem))) problem = `it does not belong to the key ${cert.attrs.key}`;
      } catch (e) {
        problem = `the key ${cert.attrs.key} cannot be read: ${(e as Error).message}`;
      }
    }
    if (!problem && ca.chaincert) {
      const work = mkdtempSync(join(tmpdir(), "vacfg-sslca-"));
      try {
        writeFileSync(join(work, "cert.pem"), x509!.toString());
        const args = ["verify", ...(ca.rootCa ? ["-CAfile"] : ["-purpose", "sslserver", "-untrusted"]), ca.chaincert, join(work, "cert.pem")];
        const r = await runTool("openssl", args, { timeoutMs: 60_000 });
        if (r.code !== 0) problem = `openssl verify against ${ca.chaincert}: ${(r.stderr.trim() || r.stdout.trim()).split("\n").slice(-2).join(" | ")}`;
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }
    if (this.verdicts.size > 4096) this.verdicts.clear();
    this.verdicts.set(id, problem);
    return problem;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw new VacfgError("REPO_FILE", `${path} cannot be read: ${(e as Error).message}`, { cause: e });
  }
}
