// The image attestation document: typed value, canonical JSON bytes (what the signature covers),
// and a strict parser that names the offending field. No crypto, files or images here.
import { VacfgError } from "./errors.js";

export const ATTESTATION_TYPE = "vacfg-attestation";
export const ATTESTATION_VERSION = 1;

export type ImageFormatName = "ext" | "raw-disk" | "qcow2";
const FORMATS: readonly ImageFormatName[] = ["ext", "raw-disk", "qcow2"];

export interface AttestedPackage {
  name: string;
  version: string;
  arch: string;
}

/**
 * What "patch level" means here, honestly: what the image's own files claim. The OS release
 * (/etc/os-release ID and VERSION_ID), the Debian point release (/etc/debian_version), and how
 * many installed packages carry a Debian stable/security update version (+debNuM or ~debNuM).
 * It does not prove that every published fix is installed; a site that needs that pins minimum
 * package versions in its policy.
 */
export interface PatchLevel {
  osId: string | null;
  versionId: string | null;
  debianVersion: string | null;
  stableUpdates: number;
}

export interface AttestationSignature {
  alg: "ed25519";
  /** "sha256:" + hex of the signer's raw 32-byte Ed25519 public key. */
  keyFingerprint: string;
  /** base64 signature over canonicalJson(document without "signature"). */
  value: string;
}

/**
 * The vacfg-agent Debian package (packaging/packages.ts builds it, every appliance image installs it),
 * which `agent` attests: its name, the directory of its bundle (what `agent.digest` covers) and the
 * command that runs it.
 */
export const AGENT_PACKAGE_LAYOUT = { package: "vacfg-agent", dir: "/usr/lib/vacfg-agent", command: "/usr/sbin/vacfg-agent" } as const;

export interface AttestationBody {
  type: typeof ATTESTATION_TYPE;
  version: typeof ATTESTATION_VERSION;
  /** The image file exactly as given: "sha256:<hex>" of its bytes, its format and size. */
  subject: { digest: string; format: ImageFormatName; size: number };
  appliance: { name: string; version: string };
  /**
   * The vacfg-agent package in the image: its dpkg version and `digest`, the configuration digest's
   * listing over its bundle directory (/usr/lib/vacfg-agent: contents, modes, owners). null when no
   * vacfg-agent is installed. Documents signed before the agent was a package carry no digest.
   */
  agent: { version: string | null; digest?: string } | null;
  /** digest over the sorted listing of everything under `paths` (see hypervisor/attest/config-digest.ts). */
  config: { paths: string[]; digest: string; files: number };
  /** Installed packages from /var/lib/dpkg/status, sorted by name then arch. */
  packages: AttestedPackage[];
  patchLevel: PatchLevel;
  /** ISO 8601 UTC, e.g. 2026-11-25T17:00:00.000Z */
  issuedAt: string;
  issuer: string;
}

export interface AttestationDocument extends AttestationBody {
  signature: AttestationSignature;
}

/**
 * Canonical JSON: object keys sorted (UTF-16 code unit order), no whitespace, only integers as
 * numbers. For this value subset it coincides with RFC 8785, so the signed bytes are reproducible.
 */
export function canonicalJson(v: unknown, at = "$"): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new VacfgError("ATTESTATION_INVALID", `${at}: only safe integers have a canonical form (got ${v})`);
    return String(v);
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x, i) => canonicalJson(x, `${at}[${i}]`)).join(",")}]`;
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k], `${at}.${k}`)}`).join(",")}}`;
  }
  throw new VacfgError("ATTESTATION_INVALID", `${at}: ${typeof v} has no canonical JSON form`);
}

/** The exact bytes the signature covers. */
export function signingBytes(doc: AttestationBody | AttestationDocument): Buffer {
  const { signature: _omit, ...body } = doc as AttestationDocument;
  return Buffer.from(canonicalJson(body), "utf8");
}

/** The document as stored and exchanged: canonical JSON plus a final newline. */
export function serializeAttestation(doc: AttestationDocument): string {
  return canonicalJson(doc) + "\n";
}

// ---- strict parsing: every field checked, errors name the field ----

function fail(source: string, field: string, msg: string): never {
  throw new VacfgError("ATTESTATION_INVALID", `${source}: ${field}: ${msg}`);
}

type Obj = Record<string, unknown>;

function obj(source: string, field: string, v: unknown, keys: string[]): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(source, field, "must be an object");
  for (const k of Object.keys(v)) if (!keys.includes(k)) fail(source, `${field}.${k}`, "unknown field");
  for (const k of keys) if (!(k in v)) fail(source, `${field}.${k}`, "missing");
  return v as Obj;
}

function str(source: string, field: string, v: unknown, re?: RegExp, what?: string): string {
  if (typeof v !== "string") fail(source, field, "must be a string");
  if (re && !re.test(v)) fail(source, field, `must be ${what ?? re.source} (got ${JSON.stringify(v.slice(0, 80))})`);
  return v;
}

function strOrNull(source: string, field: string, v: unknown): string | null {
  return v === null ? null : str(source, field, v);
}

function int(source: string, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) fail(source, field, "must be a non-negative integer");
  return v;
}

export const SHA256_RE = /^sha256:[0-9a-f]{64}$/;
const NONEMPTY = /^\S[\s\S]*$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** Parses and validates a document (text or already-parsed JSON). `source` names it in errors. */
export function parseAttestation(input: string | unknown, source = "attestation"): AttestationDocument {
  let v: unknown = input;
  if (typeof input === "string") {
    if (input.length > 64 * 1024 * 1024) fail(source, "$", "document larger than 64 MiB");
    try {
      v = JSON.parse(input);
    } catch (e) {
      fail(source, "$", `not JSON: ${(e as Error).message}`);
    }
  }
  const d = obj(source, "$", v, ["type", "version", "subject", "appliance", "agent", "config", "packages", "patchLevel", "issuedAt", "issuer", "signature"]);
  if (d.type !== ATTESTATION_TYPE) fail(source, "type", `must be "${ATTESTATION_TYPE}"`);
  if (d.version !== ATTESTATION_VERSION) fail(source, "version", `must be ${ATTESTATION_VERSION}`);
  const s = obj(source, "subject", d.subject, ["digest", "format", "size"]);
  const format = str(source, "subject.format", s.format);
  if (!FORMATS.includes(format as ImageFormatName)) fail(source, "subject.format", `must be one of ${FORMATS.join(", ")}`);
  const a = obj(source, "appliance", d.appliance, ["name", "version"]);
  let agent: AttestationBody["agent"] = null;
  if (d.agent !== null) {
    const withDigest = typeof d.agent === "object" && "digest" in d.agent;
    const g = obj(source, "agent", d.agent, withDigest ? ["version", "digest"] : ["version"]);
    agent = { version: strOrNull(source, "agent.version", g.version), ...(withDigest ? { digest: str(source, "agent.digest", g.digest, SHA256_RE, "sha256:<64 hex>") } : {}) };
  }
  const c = obj(source, "config", d.config, ["paths", "digest", "files"]);
  if (!Array.isArray(c.paths)) fail(source, "config.paths", "must be an array");
  if (!Array.isArray(d.packages)) fail(source, "packages", "must be an array");
  const p = obj(source, "patchLevel", d.patchLevel, ["osId", "versionId", "debianVersion", "stableUpdates"]);
  const issuedAt = str(source, "issuedAt", d.issuedAt, ISO_UTC, "an ISO 8601 UTC time");
  if (Number.isNaN(Date.parse(issuedAt))) fail(source, "issuedAt", "is not a valid time");
  const sig = obj(source, "signature", d.signature, ["alg", "keyFingerprint", "value"]);
  if (sig.alg !== "ed25519") fail(source, "signature.alg", 'must be "ed25519"');
  return {
    type: ATTESTATION_TYPE,
    version: ATTESTATION_VERSION,
    subject: { digest: str(source, "subject.digest", s.digest, SHA256_RE, "sha256:<64 hex>"), format: format as ImageFormatName, size: int(source, "subject.size", s.size) },
    appliance: { name: str(source, "appliance.name", a.name, NONEMPTY, "a non-empty string"), version: str(source, "appliance.version", a.version, NONEMPTY, "a non-empty string") },
    agent,
    config: {
      paths: c.paths.map((x, i) => str(source, `config.paths[${i}]`, x, /^\//, "an absolute path")),
      digest: str(source, "config.digest", c.digest, SHA256_RE, "sha256:<64 hex>"),
      files: int(source, "config.files", c.files),
    },
    packages: d.packages.map((x, i) => {
      const e = obj(source, `packages[${i}]`, x, ["name", "version", "arch"]);
      return {
        name: str(source, `packages[${i}].name`, e.name, NONEMPTY, "a non-empty string"),
        version: str(source, `packages[${i}].version`, e.version, NONEMPTY, "a non-empty string"),
        arch: str(source, `packages[${i}].arch`, e.arch),
      };
    }),
    patchLevel: {
      osId: strOrNull(source, "patchLevel.osId", p.osId),
      versionId: strOrNull(source, "patchLevel.versionId", p.versionId),
      debianVersion: strOrNull(source, "patchLevel.debianVersion", p.debianVersion),
      stableUpdates: int(source, "patchLevel.stableUpdates", p.stableUpdates),
    },
    issuedAt,
    issuer: str(source, "issuer", d.issuer, NONEMPTY, "a non-empty string"),
    signature: {
      alg: "ed25519",
      keyFingerprint: str(source, "signature.keyFingerprint", sig.keyFingerprint, SHA256_RE, "sha256:<64 hex>"),
      value: str(source, "signature.value", sig.value, /^[A-Za-z0-9+/]{86}==$/, "a base64 Ed25519 signature (64 bytes)"),
    },
  };
}
