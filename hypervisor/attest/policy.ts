// The admission policy: a JSON file (format in README.md), parsed strictly with errors naming the
// field, and the checks it makes against a verified attestation. Every refusal names its rule.
import { readFileSync } from "node:fs";
import { SHA256_RE, type AttestationDocument } from "../../protocol/attestation.js";
import { VacfgError } from "../../protocol/errors.js";
import { compareDebianVersions, parseDebianVersion } from "./debian-version.js";

export interface AdmissionPolicy {
  /** Key fingerprints ("sha256:<hex>") whose attestations this site accepts. */
  trustedSigners: string[];
  /** Attestations older than this are refused (omit: no limit). */
  maxAgeSeconds?: number;
  /** Each must be installed; with minVersion, every installed architecture at least that (dpkg order). */
  requiredPackages: Array<{ name: string; minVersion?: string }>;
  forbiddenPackages: string[];
  minPatchLevel?: { osId?: string; versionId?: string; debianVersion?: string; stableUpdates?: number };
  /** Exact configuration digest the image must carry. */
  configDigest?: string;
}

/** One refusal: `rule` is the policy field (or check) that refused, e.g. "requiredPackages[1]". */
export interface AdmissionReason {
  rule: string;
  message: string;
}

const POLICY_KEYS = ["trustedSigners", "maxAgeSeconds", "requiredPackages", "forbiddenPackages", "minPatchLevel", "configDigest"];
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

function fail(source: string, field: string, msg: string): never {
  throw new VacfgError("ADMISSION_POLICY", `${source}: ${field}: ${msg}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function known(source: string, field: string, o: Record<string, unknown>, keys: string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(source, field ? `${field}.${k}` : k, `unknown field (known: ${keys.join(", ")})`);
}

function version(source: string, field: string, v: unknown): string {
  if (typeof v !== "string") fail(source, field, "must be a string");
  const p = parseDebianVersion(v);
  if (typeof p === "string") fail(source, field, `"${v}" is not a Debian version: ${p}`);
  return v;
}

/** Where in the text a JSON.parse error points, as line:column. */
function jsonErrorAt(text: string, msg: string): string {
  const m = /position (\d+)/.exec(msg);
  if (!m) return "";
  const before = text.slice(0, Number(m[1]));
  const line = before.split("\n").length;
  return `:${line}:${Number(m[1]) - before.lastIndexOf("\n")}`;
}

export function parsePolicy(text: string, source = "policy"): AdmissionPolicy {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new VacfgError("ADMISSION_POLICY", `${source}${jsonErrorAt(text, (e as Error).message)}: not JSON: ${(e as Error).message}`);
  }
  if (!isObj(v)) fail(source, "$", "must be a JSON object");
  known(source, "", v, POLICY_KEYS);

  if (!Array.isArray(v.trustedSigners) || v.trustedSigners.length === 0) fail(source, "trustedSigners", "must be a non-empty array of key fingerprints");
  const trustedSigners = v.trustedSigners.map((f, i) => {
    if (typeof f !== "string" || !SHA256_RE.test(f)) fail(source, `trustedSigners[${i}]`, 'must be "sha256:<64 lowercase hex>" (see `vacfg attest keygen`)');
    return f;
  });

  let maxAgeSeconds: number | undefined;
  if (v.maxAgeSeconds !== undefined) {
    if (typeof v.maxAgeSeconds !== "number" || !Number.isSafeInteger(v.maxAgeSeconds) || v.maxAgeSeconds <= 0) fail(source, "maxAgeSeconds", "must be a positive integer");
    maxAgeSeconds = v.maxAgeSeconds;
  }

  const requiredPackages: AdmissionPolicy["requiredPackages"] = [];
  if (v.requiredPackages !== undefined) {
    if (!Array.isArray(v.requiredPackages)) fail(source, "requiredPackages", "must be an array");
    v.requiredPackages.forEach((r, i) => {
      const f = `requiredPackages[${i}]`;
      if (!isObj(r)) fail(source, f, 'must be an object {"name", "minVersion"?}');
      known(source, f, r, ["name", "minVersion"]);
      if (typeof r.name !== "string" || !PACKAGE_NAME.test(r.name)) fail(source, `${f}.name`, "must be a Debian package name");
      requiredPackages.push(r.minVersion === undefined ? { name: r.name } : { name: r.name, minVersion: version(source, `${f}.minVersion`, r.minVersion) });
    });
  }

  const forbiddenPackages: string[] = [];
  if (v.forbiddenPackages !== undefined) {
    if (!Array.isArray(v.forbiddenPackages)) fail(source, "forbiddenPackages", "must be an array of package names");
    v.forbiddenPackages.forEach((n, i) => {
      if (typeof n !== "string" || !PACKAGE_NAME.test(n)) fail(source, `forbiddenPackages[${i}]`, "must be a Debian package name");
      forbiddenPackages.push(n);
    });
  }

  let minPatchLevel: AdmissionPolicy["minPatchLevel"];
  if (v.minPatchLevel !== undefined) {
    const m = v.minPatchLevel;
    if (!isObj(m)) fail(source, "minPatchLevel", "must be an object");
    known(source, "minPatchLevel", m, ["osId", "versionId", "debianVersion", "stableUpdates"]);
    minPatchLevel = {};
    if (m.osId !== undefined) {
      if (typeof m.osId !== "string" || !m.osId) fail(source, "minPatchLevel.osId", "must be a non-empty string");
      minPatchLevel.osId = m.osId;
    }
    if (m.versionId !== undefined) minPatchLevel.versionId = version(source, "minPatchLevel.versionId", m.versionId);
    if (m.debianVersion !== undefined) minPatchLevel.debianVersion = version(source, "minPatchLevel.debianVersion", m.debianVersion);
    if (m.stableUpdates !== undefined) {
      if (typeof m.stableUpdates !== "number" || !Number.isSafeInteger(m.stableUpdates) || m.stableUpdates < 0) fail(source, "minPatchLevel.stableUpdates", "must be a non-negative integer");
      minPatchLevel.stableUpdates = m.stableUpdates;
    }
  }

  let configDigest: string | undefined;
  if (v.configDigest !== undefined) {
    if (typeof v.configDigest !== "string" || !SHA256_RE.test(v.configDigest)) fail(source, "configDigest", 'must be "sha256:<64 lowercase hex>"');
    configDigest = v.configDigest;
  }
  return { trustedSigners, maxAgeSeconds, requiredPackages, forbiddenPackages, minPatchLevel, configDigest };
}

export function loadPolicy(path: string): AdmissionPolicy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new VacfgError("ADMISSION_POLICY", `${path}: ${(e as Error).message}`);
  }
  return parsePolicy(text, path);
}

/** Clock skew tolerated for attestations issued "in the future" by a signer whose clock runs ahead. */
export const FUTURE_SKEW_MS = 5 * 60 * 1000;

/**
 * The policy's checks against an attestation whose signature has already been verified.
 * Returns every refusal (empty: the policy admits it).
 */
export function checkPolicy(doc: AttestationDocument, policy: AdmissionPolicy, now: Date = new Date()): AdmissionReason[] {
  const reasons: AdmissionReason[] = [];
  const refuse = (rule: string, message: string) => reasons.push({ rule, message });

  if (!policy.trustedSigners.includes(doc.signature.keyFingerprint)) refuse("trustedSigners", `signer ${doc.signature.keyFingerprint} is not among the policy's trusted signers`);

  const issued = Date.parse(doc.issuedAt);
  if (issued - now.getTime() > FUTURE_SKEW_MS) refuse("maxAgeSeconds", `attestation issued in the future (${doc.issuedAt})`);
  if (policy.maxAgeSeconds !== undefined) {
    const age = Math.floor((now.getTime() - issued) / 1000);
    if (age > policy.maxAgeSeconds) refuse("maxAgeSeconds", `attestation is ${age} s old (issued ${doc.issuedAt}), limit ${policy.maxAgeSeconds} s`);
  }

  const installed = new Map<string, string[]>();
  for (const p of doc.packages) installed.set(p.name, [...(installed.get(p.name) ?? []), `${p.version}${p.arch ? `:${p.arch}` : ""}`]);
  const versionsOf = (name: string) => doc.packages.filter((p) => p.name === name);
  policy.requiredPackages.forEach((r, i) => {
    const rule = `requiredPackages[${i}]`;
    const have = versionsOf(r.name);
    if (!have.length) return refuse(rule, `required package ${r.name} is not installed`);
    if (r.minVersion === undefined) return;
    for (const p of have) {
      if (compareDebianVersions(p.version, r.minVersion) < 0) refuse(rule, `${r.name}${p.arch ? `:${p.arch}` : ""} ${p.version} is older than the required ${r.minVersion}`);
    }
  });
  policy.forbiddenPackages.forEach((n, i) => {
    const have = installed.get(n);
    if (have) refuse(`forbiddenPackages[${i}]`, `forbidden package ${n} is installed (${have.join(", ")})`);
  });

  const want = policy.minPatchLevel;
  const pl = doc.patchLevel;
  if (want?.osId !== undefined && pl.osId !== want.osId) refuse("minPatchLevel.osId", `image OS is ${pl.osId ?? "unknown"}, policy requires ${want.osId}`);
  if (want?.versionId !== undefined) {
    if (pl.versionId === null) refuse("minPatchLevel.versionId", `image states no VERSION_ID, policy requires at least ${want.versionId}`);
    else if (compareDebianVersions(pl.versionId, want.versionId) < 0) refuse("minPatchLevel.versionId", `image VERSION_ID ${pl.versionId} is below ${want.versionId}`);
  }
  if (want?.debianVersion !== undefined) {
    if (pl.debianVersion === null) refuse("minPatchLevel.debianVersion", `image has no /etc/debian_version, policy requires at least ${want.debianVersion}`);
    else if (compareDebianVersions(pl.debianVersion, want.debianVersion) < 0) refuse("minPatchLevel.debianVersion", `image debian_version ${pl.debianVersion} is below ${want.debianVersion}`);
  }
  if (want?.stableUpdates !== undefined && pl.stableUpdates < want.stableUpdates) {
    refuse("minPatchLevel.stableUpdates", `image has ${pl.stableUpdates} packages at stable/security update versions, policy requires ${want.stableUpdates}`);
  }

  if (policy.configDigest !== undefined && doc.config.digest !== policy.configDigest) {
    refuse("configDigest", `configuration digest ${doc.config.digest} (over ${doc.config.paths.join(", ")}) is not the required ${policy.configDigest}`);
  }
  return reasons;
}
