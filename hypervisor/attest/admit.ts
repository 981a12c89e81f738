// The admission decision the workspace asks for before it boots an image: re-hash the image,
// find and verify its attestation, apply the site policy. Never throws for a bad image or
// attestation: those are refusals with a named rule.
import { statSync } from "node:fs";
import { parseAttestation, type AttestationDocument } from "../../protocol/attestation.js";
import type { RecordTable } from "../../server/store/store.js";
import { verifyAttestation } from "./attest.js";
import { findAttestation } from "./attestation-store.js";
import { qcow2HasBacking } from "./guest-fs.js";
import { sha256File } from "./image-digest.js";
import type { TrustedKeys } from "./keys.js";
import { checkPolicy, type AdmissionPolicy, type AdmissionReason } from "./policy.js";
import { detectImageFormat } from "../image/patch-image.js";

export interface AdmissionTrust {
  /** Keys that may have signed (see loadTrustDir); the policy then narrows to its trustedSigners. */
  keys: TrustedKeys;
  /** The image's attestation (document or its JSON text); when absent, looked up in `store` by digest. */
  attestation?: AttestationDocument | string;
  store?: RecordTable;
  /** Evaluation time (default now), for the age rule. */
  now?: Date;
}

export interface AdmissionDecision {
  admitted: boolean;
  /** Empty when admitted; otherwise every refusal, each naming its rule. */
  reasons: AdmissionReason[];
  /** sha256 of the image as it is now ("sha256:<hex>"), when it could be read. */
  digest?: string;
  attestation?: AttestationDocument;
}

function refused(reasons: AdmissionReason[], extra: Partial<AdmissionDecision> = {}): AdmissionDecision {
  return { admitted: false, reasons, ...extra };
}

/**
 * Decides whether `imagePath` may boot. The caller must boot the very bytes that were admitted:
 * admit a file nobody else can write between this call and the boot (see README).
 */
export async function admitImage(imagePath: string, policy: AdmissionPolicy, trust: AdmissionTrust): Promise<AdmissionDecision> {
  let size: number;
  let digest: string;
  try {
    size = statSync(imagePath).size;
    // The digest covers this file only; a backing file could change what boots without changing it.
    if (detectImageFormat(imagePath) === "qcow2" && qcow2HasBacking(imagePath)) {
      return refused([{ rule: "subject", message: `${imagePath} is a qcow2 overlay with a backing file; admit its flattened image or base` }]);
    }
    digest = await sha256File(imagePath);
  } catch (e) {
    return refused([{ rule: "subject", message: `${imagePath}: ${(e as Error).message}` }]);
  }

  let doc: AttestationDocument | undefined;
  try {
    if (trust.attestation !== undefined) doc = typeof trust.attestation === "string" ? parseAttestation(trust.attestation) : parseAttestation(trust.attestation);
    else if (trust.store) doc = await findAttestation(trust.store, digest);
  } catch (e) {
    return refused([{ rule: "attestation", message: (e as Error).message }], { digest });
  }
  if (!doc) return refused([{ rule: "attestation", message: `no attestation for image ${digest}` }], { digest });

  const sig = verifyAttestation(doc, trust.keys);
  if (!sig.ok) return refused([{ rule: "signature", message: sig.reason }], { digest, attestation: doc });
  if (doc.subject.digest !== digest || doc.subject.size !== size) {
    return refused([{ rule: "subject.digest", message: `image is ${digest} (${size} bytes) but the attestation is for ${doc.subject.digest} (${doc.subject.size} bytes): image changed or wrong attestation` }], { digest, attestation: doc });
  }
  const reasons = checkPolicy(doc, policy, trust.now);
  return { admitted: reasons.length === 0, reasons, digest, attestation: doc };
}
