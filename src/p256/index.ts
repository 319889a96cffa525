// ECDSA P-256 with SHA-256 verification for CSR self-signatures, on node:crypto: the CA checks
// one fresh key per certificate, so how that key is imported matters (see node-crypto.ts).

export { p256PublicKey, verifyP256Sha256 } from "./node-crypto.js";
export type { P256Verdict } from "./verdict.js";
