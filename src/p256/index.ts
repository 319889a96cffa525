// ECDSA P-256 with SHA-256 verification for CSR self-signatures: the CA checks one fresh key
// per certificate, and through node:crypto each fresh key costs more than the signature check
// itself. An optional native verifier built against Node's own OpenSSL (native/p256-verify)
// does the same check without that overhead; node:crypto is the fallback and the reference
// the tests hold it to.

import { loadNativeVerifier, type P256Verify } from "./native.js";
import { verifyWithNodeCrypto } from "./node-crypto.js";
import type { P256Verdict } from "./verdict.js";

export { loadNativeVerifier } from "./native.js";
export { p256PublicKey, verifyWithNodeCrypto } from "./node-crypto.js";
export type { P256Verdict } from "./verdict.js";

export type P256Backend = "native" | "node:crypto";

let loaded: { backend: P256Backend; verify: P256Verify; unavailable?: string } | undefined;

function verifier() {
  if (loaded === undefined) {
    const native = loadNativeVerifier();
    loaded =
      "verify" in native
        ? { backend: "native", verify: native.verify }
        : { backend: "node:crypto", verify: verifyWithNodeCrypto, unavailable: native.unavailable };
  }
  return loaded;
}

/**
 * Whether `signatureDer` (a DER ECDSA-Sig-Value) over `data` verifies with the uncompressed
 * P-256 point `point` (65 bytes, 0x04 ‖ X ‖ Y). Anything else as `point` is "invalid-key".
 */
export function verifyP256Sha256(
  point: Uint8Array,
  data: Uint8Array,
  signatureDer: Uint8Array,
): P256Verdict {
  if (point.length !== 65 || point[0] !== 0x04) return "invalid-key";
  return verifier().verify(point, data, signatureDer);
}

/** Which verifier this process uses, and why not the native one when it is not. */
export function p256Backend(): { backend: P256Backend; unavailable?: string } {
  const { backend, unavailable } = verifier();
  return unavailable === undefined ? { backend } : { backend, unavailable };
}
