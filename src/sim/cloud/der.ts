import { createHash } from "node:crypto";

// A minimal DER walk, enough to take the SubjectPublicKeyInfo out of a certificate. The
// simulator does this instead of `new X509Certificate()`, which costs ~1 ms per certificate
// and dominated bulk onboarding of thousands of devices.

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  offset: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the content. */
  end: number;
}

function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
  const tag = der[offset];
  let lengthByte = der[offset + 1];
  if (tag === undefined || lengthByte === undefined) throw new Error("truncated DER");
  let start = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 3) throw new Error("unsupported DER length");
    length = 0;
    for (let i = 0; i < count; i += 1) {
      lengthByte = der[start + i];
      if (lengthByte === undefined) throw new Error("truncated DER");
      length = length * 256 + lengthByte;
    }
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new Error("DER length runs past its container");
  return { tag, offset, start, end };
}

/** DER SubjectPublicKeyInfo prefix of every P-256 (prime256v1) EC key. */
const P256_SPKI_PREFIX = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex");

export interface CertificateFacts {
  /** Uppercase colon-separated SHA-256 of the DER, like X509Certificate.fingerprint256. */
  fingerprint: string;
  spki: Buffer;
  isP256: boolean;
}

/** The DER inside a single-block PEM. */
export function pemToDer(pem: string): Buffer {
  const body = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, "").replace(/\s+/g, "");
  return Buffer.from(body, "base64");
}

/** Reads a certificate's SubjectPublicKeyInfo and fingerprint; throws on malformed DER. */
export function readCertificate(der: Buffer): CertificateFacts {
  const certificate = readTlv(der, 0, der.length);
  if (certificate.tag !== 0x30 || certificate.end !== der.length)
    throw new Error("not a certificate");
  const tbs = readTlv(der, certificate.start, certificate.end);
  if (tbs.tag !== 0x30) throw new Error("no TBSCertificate");
  let field = readTlv(der, tbs.start, tbs.end);
  if (field.tag === 0xa0) field = readTlv(der, field.end, tbs.end); // explicit version
  // serial, signature, issuer, validity, subject, then the SubjectPublicKeyInfo.
  for (let i = 0; i < 5; i += 1) field = readTlv(der, field.end, tbs.end);
  if (field.tag !== 0x30) throw new Error("no SubjectPublicKeyInfo");
  const spki = der.subarray(field.offset, field.end);
  return {
    fingerprint: createHash("sha256")
      .update(der)
      .digest("hex")
      .toUpperCase()
      .replace(/(..)(?!$)/g, "$1:"),
    spki: Buffer.from(spki),
    isP256:
      spki.length === 91 && spki.subarray(0, P256_SPKI_PREFIX.length).equals(P256_SPKI_PREFIX),
  };
}
