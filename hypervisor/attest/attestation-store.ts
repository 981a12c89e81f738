// Attestations in the server store (records of kind "attestation", keyed by the image digest),
// so an admission can find the attestation of whatever image it is handed.
import { parseAttestation, type AttestationDocument } from "../../protocol/attestation.js";
import type { RecordTable } from "../../server/store/store.js";

export const ATTESTATION_KIND = "attestation";

/** Stores (or replaces: the newest signing wins) the attestation of the image it names. */
export async function recordAttestation(store: RecordTable, doc: AttestationDocument): Promise<void> {
  await store.put(ATTESTATION_KIND, doc.subject.digest, doc);
}

/** The stored attestation for an image digest, re-validated (the store is not trusted to hold good shapes). */
export async function findAttestation(store: RecordTable, digest: string): Promise<AttestationDocument | undefined> {
  const v = await store.get<unknown>(ATTESTATION_KIND, digest);
  return v === undefined ? undefined : parseAttestation(v, `store ${ATTESTATION_KIND}/${digest}`);
}
