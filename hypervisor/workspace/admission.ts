// Admission before boot for the Workspace Service: an appliance's base image must carry a signed
// attestation (given with the appliance, or found in the store) that the site policy accepts.
import { VacfgError } from "../../protocol/errors.js";
import type { RecordTable } from "../../server/store/store.js";
import { admitImage } from "../attest/admit.js";
import { loadTrustDir } from "../attest/keys.js";
import { loadPolicy } from "../attest/policy.js";
import type { AdmissionRecord, ApplianceSpec } from "./types.js";

/** Where the site's admission policy and trusted signing keys live (paths). */
export interface WorkspaceAdmission {
  /** Policy file (hypervisor/attest/README.md format). */
  policy: string;
  /** Directory of trusted Ed25519 public keys (`*.pub`); the policy narrows to its trustedSigners. */
  trustDir: string;
}

/**
 * Reads policy and trust directory; throws ADMISSION_POLICY / ATTEST_KEY naming the file. Read
 * again for every deploy, so an edited policy or a revoked key applies without a restart.
 */
export function loadAdmission(a: WorkspaceAdmission): { policy: ReturnType<typeof loadPolicy>; keys: ReturnType<typeof loadTrustDir> } {
  return { policy: loadPolicy(a.policy), keys: loadTrustDir(a.trustDir) };
}

/**
 * Admits the appliance's base image (the bytes every VM overlay reads through), or throws
 * VacfgError("ADMISSION") listing every refusal as "rule: message".
 */
export async function admitAppliance(name: string, appliance: ApplianceSpec, a: WorkspaceAdmission, store: RecordTable): Promise<AdmissionRecord> {
  const { policy, keys } = loadAdmission(a);
  const d = await admitImage(appliance.base, policy, { keys, store, ...(appliance.attestation !== undefined ? { attestation: appliance.attestation } : {}) });
  if (!d.admitted || !d.attestation || !d.digest) {
    const reasons = d.reasons.map((r) => `${r.rule}: ${r.message}`).join("; ");
    throw new VacfgError("ADMISSION", `appliance "${name}": base image ${appliance.base} refused by ${a.policy}: ${reasons}`);
  }
  return { digest: d.digest, signer: d.attestation.signature.keyFingerprint, issuer: d.attestation.issuer, issuedAt: d.attestation.issuedAt, policy: a.policy };
}
