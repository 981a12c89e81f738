// The attestation and admission surface other folders (workspace, CLI) import.
export { attestImage, verifyAttestation, inspectImage, DEFAULT_CONFIG_PATHS, type AttestOptions, type VerifyResult } from "./attest.js";
export { admitImage, type AdmissionDecision, type AdmissionTrust } from "./admit.js";
export { parsePolicy, loadPolicy, checkPolicy, type AdmissionPolicy, type AdmissionReason } from "./policy.js";
export { generateSigningKey, loadSigningKey, loadPublicKey, loadTrustDir, keyFingerprint, type TrustedKeys } from "./keys.js";
export { recordAttestation, findAttestation, ATTESTATION_KIND } from "./attestation-store.js";
export { compareDebianVersions, parseDebianVersion } from "./debian-version.js";
