import { createHash } from "node:crypto";
import { readCertificateElements, wholeOf } from "../../der/index.js";

// What the simulated cloud needs from an uploaded certificate, read with the project's DER
// reader instead of `new X509Certificate()`, which costs ~1 ms per certificate and dominated
// bulk onboarding of thousands of devices.

/** DER SubjectPublicKeyInfo prefix of every P-256 (prime256v1) EC key. */
const P256_SPKI_PREFIX = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex");

export interface CertificateFacts {
  /** Uppercase colon-separated SHA-256 of the DER, like X509Certificate.fingerprint256. */
  fingerprint: string;
  spki: Buffer;
  isP256: boolean;
}

/** Reads a certificate's SubjectPublicKeyInfo and fingerprint; throws DerError on malformed DER. */
export function readCertificate(der: Uint8Array): CertificateFacts {
  const spki = Buffer.from(wholeOf(der, readCertificateElements(der).spki));
  return {
    fingerprint: createHash("sha256")
      .update(der)
      .digest("hex")
      .toUpperCase()
      .replace(/(..)(?!$)/g, "$1:"),
    spki,
    isP256:
      spki.length === 91 && spki.subarray(0, P256_SPKI_PREFIX.length).equals(P256_SPKI_PREFIX),
  };
}
