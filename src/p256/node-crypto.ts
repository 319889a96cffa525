import { createPublicKey, type KeyObject, verify } from "node:crypto";
import type { P256Verdict } from "./verdict.js";

/**
 * Whether `signatureDer` (a DER ECDSA-Sig-Value) over `data` verifies with the uncompressed
 * P-256 point `point` (65 bytes, 0x04 ‖ X ‖ Y). Anything else as `point` is "invalid-key".
 * The point goes in as a JWK (OpenSSL's DER decoder costs about 3× as much; both check that
 * the point is on the curve), then node:crypto verifies.
 */
export function verifyP256Sha256(
  point: Uint8Array,
  data: Uint8Array,
  signatureDer: Uint8Array,
): P256Verdict {
  let key: KeyObject;
  try {
    key = p256PublicKey(point);
  } catch {
    return "invalid-key";
  }
  try {
    return verify("sha256", data, key, signatureDer) ? "valid" : "invalid-signature";
  } catch {
    return "invalid-signature"; // an undecodable ECDSA-Sig-Value is simply not a valid signature
  }
}

/** A KeyObject for an uncompressed P-256 point; throws what node:crypto throws for a bad one. */
export function p256PublicKey(point: Uint8Array): KeyObject {
  if (point.length !== 65 || point[0] !== 0x04) {
    throw new RangeError("not an uncompressed P-256 point (65 bytes starting 0x04)");
  }
  const coordinates = Buffer.from(point.buffer, point.byteOffset, point.byteLength);
  return createPublicKey({
    key: {
      kty: "EC",
      crv: "P-256",
      x: coordinates.toString("base64url", 1, 33),
      y: coordinates.toString("base64url", 33, 65),
    },
    format: "jwk",
  });
}
