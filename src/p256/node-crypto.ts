import { createPublicKey, type JsonWebKey, type KeyObject, verify } from "node:crypto";
import type { P256Verdict } from "./verdict.js";

/**
 * Whether `signatureDer` (a DER ECDSA-Sig-Value) over `data` verifies with the uncompressed
 * P-256 point `point` (65 bytes, 0x04 ‖ X ‖ Y). Anything else as `point` is "invalid-key".
 * The point goes in as a JWK (OpenSSL's DER decoder costs about 3× as much; both check that
 * the point is on the curve), given to verify() as is: a KeyObject for a key used once is a
 * wrapper made and collected for nothing.
 */
export function verifyP256Sha256(
  point: Uint8Array,
  data: Uint8Array,
  signatureDer: Uint8Array,
): P256Verdict {
  if (!isUncompressedPoint(point)) return "invalid-key";
  try {
    return verify("sha256", data, { key: p256Jwk(point), format: "jwk" }, signatureDer)
      ? "valid"
      : "invalid-signature";
  } catch (error) {
    // A point off the curve fails the JWK import; anything else (an undecodable
    // ECDSA-Sig-Value) is simply not a valid signature.
    return (error as NodeJS.ErrnoException).code === "ERR_CRYPTO_INVALID_JWK"
      ? "invalid-key"
      : "invalid-signature";
  }
}

/** A KeyObject for an uncompressed P-256 point; throws what node:crypto throws for a bad one. */
export function p256PublicKey(point: Uint8Array): KeyObject {
  if (!isUncompressedPoint(point)) {
    throw new RangeError("not an uncompressed P-256 point (65 bytes starting 0x04)");
  }
  return createPublicKey({ key: p256Jwk(point), format: "jwk" });
}

function isUncompressedPoint(point: Uint8Array): boolean {
  return point.length === 65 && point[0] === 0x04;
}

function p256Jwk(point: Uint8Array): JsonWebKey {
  const coordinates = Buffer.from(point.buffer, point.byteOffset, point.byteLength);
  return {
    kty: "EC",
    crv: "P-256",
    x: coordinates.toString("base64url", 1, 33),
    y: coordinates.toString("base64url", 33, 65),
  };
}
