// Producing and checking signed attestations of an image: what it is (digest), what it holds
// (packages, patch level, configuration digest, agent version), who says so (Ed25519 signature).
// Reads the image without root and without mounting (debugfs; qcow2 through a temporary raw copy).
import { sign, verify, type KeyObject } from "node:crypto";
import { statSync } from "node:fs";
import { ATTESTATION_TYPE, ATTESTATION_VERSION, AGENT_PACKAGE_LAYOUT, signingBytes, type AttestationBody, type AttestationDocument } from "../../protocol/attestation.js";
import { VacfgError } from "../../protocol/errors.js";
import { configDigest } from "./config-digest.js";
import { installedPackages } from "./dpkg-status.js";
import { openGuestView, readGuestRegularFiles } from "./guest-fs.js";
import { sha256File } from "./image-digest.js";
import { keyFingerprint, loadSigningKey, type TrustedKeys } from "./keys.js";
import { patchLevel } from "./patch-level.js";

export const DEFAULT_CONFIG_PATHS = ["/etc/vacfg"];

export interface AttestOptions {
  /** Ed25519 private key, or the path of its PEM file. */
  signingKey: KeyObject | string;
  issuer: string;
  /** Guest paths whose contents, modes and owners the config digest covers (default /etc/vacfg). */
  configPaths?: string[];
  appliance: { name: string; version: string };
  /** Issue time (default now). */
  now?: Date;
}

function fileIdentity(path: string): string {
  const s = statSync(path);
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
}

/** What the image says about itself: packages, patch level, config digest, agent version. */
export function inspectImage(imagePath: string, configPaths: string[]): Omit<AttestationBody, "type" | "version" | "subject" | "appliance" | "issuedAt" | "issuer"> & { format: AttestationBody["subject"]["format"] } {
  const view = openGuestView(imagePath);
  try {
    const [status, etcOs, usrOs, debVersion] = readGuestRegularFiles(view.spec, [
      "/var/lib/dpkg/status",
      "/etc/os-release",
      "/usr/lib/os-release", // os-release(5): the fallback, and where Debian's /etc/os-release symlink points
      "/etc/debian_version",
    ]);
    if (!status) throw new VacfgError("ATTESTATION_INVALID", `${imagePath}: no /var/lib/dpkg/status in the image (not a Debian system?)`);
    const packages = installedPackages(status.toString("utf8"));
    // The agent is the vacfg-agent package: dpkg's version, and a digest of the bundle as it is in
    // the image (a file changed after installation changes it; dpkg's status would not).
    const agentPkg = packages.find((p) => p.name === AGENT_PACKAGE_LAYOUT.package);
    const agent: AttestationBody["agent"] = agentPkg ? { version: agentPkg.version, digest: configDigest(view.spec, [AGENT_PACKAGE_LAYOUT.dir]).digest } : null;
    const cfg = configDigest(view.spec, configPaths);
    return {
      format: view.format,
      agent,
      config: { paths: cfg.roots, digest: cfg.digest, files: cfg.files },
      packages,
      patchLevel: patchLevel((etcOs ?? usrOs)?.toString("utf8"), debVersion?.toString("utf8"), packages),
    };
  } finally {
    view.close();
  }
}

export async function attestImage(imagePath: string, o: AttestOptions): Promise<AttestationDocument> {
  const key = typeof o.signingKey === "string" ? loadSigningKey(o.signingKey) : o.signingKey;
  if (key.type !== "private" || key.asymmetricKeyType !== "ed25519") throw new VacfgError("ATTEST_KEY", "signing key must be an Ed25519 private key");
  if (!o.issuer.trim()) throw new VacfgError("ATTESTATION_INVALID", "issuer must be a non-empty string");
  if (!o.appliance.name.trim() || !o.appliance.version.trim()) throw new VacfgError("ATTESTATION_INVALID", "appliance name and version must be non-empty");
  let before: string;
  try {
    before = fileIdentity(imagePath);
  } catch (e) {
    throw new VacfgError("IMAGE", `${imagePath}: ${(e as Error).message}`);
  }
  const digest = await sha256File(imagePath);
  const seen = inspectImage(imagePath, o.configPaths ?? DEFAULT_CONFIG_PATHS);
  // The digest and the contents must describe the same bytes: refuse to sign an image that changed meanwhile.
  if (fileIdentity(imagePath) !== before) throw new VacfgError("IMAGE", `${imagePath}: image changed while it was being attested`);
  const body: AttestationBody = {
    type: ATTESTATION_TYPE,
    version: ATTESTATION_VERSION,
    subject: { digest, format: seen.format, size: statSync(imagePath).size },
    appliance: { name: o.appliance.name, version: o.appliance.version },
    agent: seen.agent,
    config: seen.config,
    packages: seen.packages,
    patchLevel: seen.patchLevel,
    issuedAt: (o.now ?? new Date()).toISOString(),
    issuer: o.issuer,
  };
  const value = sign(null, signingBytes(body), key).toString("base64");
  return { ...body, signature: { alg: "ed25519", keyFingerprint: keyFingerprint(key), value } };
}

export type VerifyResult = { ok: true; fingerprint: string } | { ok: false; reason: string };

/** Checks the signature against the trusted key the document names. Says nothing about the image or policy. */
export function verifyAttestation(doc: AttestationDocument, trustedKeys: TrustedKeys): VerifyResult {
  const fp = doc.signature.keyFingerprint;
  const key = trustedKeys.get(fp);
  if (!key) return { ok: false, reason: `signed by ${fp}, which is not a trusted key` };
  let good = false;
  try {
    good = verify(null, signingBytes(doc), key, Buffer.from(doc.signature.value, "base64"));
  } catch (e) {
    return { ok: false, reason: `signature cannot be checked: ${(e as Error).message}` };
  }
  return good ? { ok: true, fingerprint: fp } : { ok: false, reason: `signature does not match the document (key ${fp})` };
}
