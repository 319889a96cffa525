import { createECDH, createPrivateKey, ECDH, type KeyObject, randomBytes, sign } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeSequence, encodeTlv, encodeUnsignedInteger, Tag } from "../../src/der/index.js";
import { verifyP256Sha256 } from "../../src/p256/index.js";

// The group order n and field prime p of P-256 (SEC 2 §2.4.2).
const N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const P = BigInt("0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff");

interface Signer {
  point: Buffer;
  privateKey: KeyObject;
}

/** A P-256 key pair made with ECDH (no KeyObject export of a generated key needed). */
function newSigner(): Signer {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const point = ecdh.getPublicKey();
  const privateKey = createPrivateKey({
    format: "jwk",
    key: {
      kty: "EC",
      crv: "P-256",
      d: ecdh.getPrivateKey().toString("base64url"),
      x: point.subarray(1, 33).toString("base64url"),
      y: point.subarray(33).toString("base64url"),
    },
  });
  return { point, privateKey };
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

function toBytes(value: bigint, length = 32): Uint8Array {
  return Buffer.from(value.toString(16).padStart(length * 2, "0"), "hex");
}

/** r and s of a DER ECDSA-Sig-Value (both INTEGERs short-form, as node:crypto writes them). */
function rs(signature: Uint8Array): { r: bigint; s: bigint } {
  const rLength = signature[3]!;
  const r = signature.subarray(4, 4 + rLength);
  const s = signature.subarray(6 + rLength, 6 + rLength + signature[5 + rLength]!);
  return { r: toBigInt(r), s: toBigInt(s) };
}

function signatureOf(r: bigint, s: bigint): Uint8Array {
  return encodeSequence(
    encodeUnsignedInteger(toBytes(r, 33)),
    encodeUnsignedInteger(toBytes(s, 33)),
  );
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[Math.floor(bit / 8) % out.length]! ^= 1 << (bit % 8);
  return out;
}

const verdictOf = verifyP256Sha256;

describe("verifyP256Sha256", () => {
  it("accepts valid signatures and refuses every single-bit change of signature, data and key", () => {
    const verdicts = new Map<string, number>();
    const count = (verdict: string) => verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
    for (let i = 0; i < 150; i++) {
      const { point, privateKey } = newSigner();
      const data = randomBytes(1 + (i % 300));
      const signature = sign("sha256", data, privateKey);
      expect(verdictOf(point, data, signature)).toBe("valid");
      const bit = i * 37;
      count(verdictOf(point, data, flipBit(signature, bit % (signature.length * 8))));
      expect(verdictOf(point, flipBit(data, bit % (data.length * 8)), signature)).toBe(
        "invalid-signature",
      );
      // Skip the 0x04 prefix: a flipped X or Y coordinate is (almost always) off the curve.
      const keyBit = 8 + (bit % 512);
      count(verdictOf(flipBit(point, keyBit), data, signature));
    }
    // Both kinds of failure were reached, and none of the changes verified.
    expect(verdicts.get("valid")).toBeUndefined();
    expect(verdicts.get("invalid-signature")).toBeGreaterThan(0);
    expect(verdicts.get("invalid-key")).toBeGreaterThan(0);
  });

  it("judges out-of-range, malleated and non-canonical signatures and invalid points", () => {
    const { point, privateKey } = newSigner();
    const data = randomBytes(200);
    const signature = sign("sha256", data, privateKey);
    const { r, s } = rs(signature);
    const cases: Array<[string, Uint8Array, Uint8Array, string]> = [
      ["high-S twin (ECDSA does not forbid it)", point, signatureOf(r, N - s), "valid"],
      ["r = 0", point, signatureOf(0n, s), "invalid-signature"],
      ["s = 0", point, signatureOf(r, 0n), "invalid-signature"],
      ["r + n", point, signatureOf(r + N, s), "invalid-signature"],
      ["s + n", point, signatureOf(r, s + N), "invalid-signature"],
      ["r = n", point, signatureOf(N, s), "invalid-signature"],
      ["empty signature", point, new Uint8Array(0), "invalid-signature"],
      ["truncated", point, signature.subarray(0, signature.length - 1), "invalid-signature"],
      ["trailing byte", point, Buffer.concat([signature, Buffer.of(0)]), "invalid-signature"],
      [
        "long-form length",
        point,
        Buffer.concat([Buffer.of(0x30, 0x81, signature[1]!), signature.subarray(2)]),
        "invalid-signature",
      ],
      [
        "padded r (extra leading zero)",
        point,
        encodeSequence(
          encodeTlv(Tag.INTEGER, Uint8Array.of(0, 0), toBytes(r).subarray(1)),
          encodeUnsignedInteger(toBytes(s)),
        ),
        "invalid-signature",
      ],
      [
        "raw r‖s instead of DER",
        point,
        Buffer.concat([toBytes(r), toBytes(s)]),
        "invalid-signature",
      ],
      ["point (0, 0)", Buffer.concat([Buffer.of(4), Buffer.alloc(64)]), signature, "invalid-key"],
      [
        "x = p (outside the field)",
        Buffer.concat([Buffer.of(4), toBytes(P), point.subarray(33)]),
        signature,
        "invalid-key",
      ],
      [
        "y replaced by p - y (valid point, other key)",
        Buffer.concat([point.subarray(0, 33), toBytes(P - toBigInt(point.subarray(33)))]),
        signature,
        "invalid-signature",
      ],
    ];
    for (const [label, key, sig, expected] of cases) {
      expect({ label, verdict: verdictOf(key, data, sig) }).toEqual({ label, verdict: expected });
    }
  });

  it("never throws on arbitrary signature bytes and arbitrary points, and accepts none of them", () => {
    const { point, privateKey } = newSigner();
    const data = randomBytes(64);
    const signature = sign("sha256", data, privateKey);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 90 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.integer({ min: 0, max: signature.length - 1 }),
        fc.uint8Array({ minLength: 1, maxLength: 4 }),
        (noise, coordinates, at, splice) => {
          expect(verdictOf(point, data, noise)).not.toBe("valid");
          expect(verdictOf(Buffer.concat([Buffer.of(4), coordinates]), data, signature)).not.toBe(
            "valid",
          );
          const spliced = Buffer.concat([
            signature.subarray(0, at),
            splice,
            signature.subarray(at),
          ]);
          expect(verdictOf(point, data, spliced)).not.toBe("valid");
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe("verifyP256Sha256 points", () => {
  it("takes only uncompressed points", () => {
    const { point, privateKey } = newSigner();
    const data = randomBytes(100);
    const signature = sign("sha256", data, privateKey);
    expect(verifyP256Sha256(point, data, signature)).toBe("valid");
    expect(verifyP256Sha256(point, data, flipBit(signature, 100))).toBe("invalid-signature");
    const compressed = ECDH.convertKey(point, "prime256v1", undefined, undefined, "compressed");
    expect(verifyP256Sha256(compressed as Buffer, data, signature)).toBe("invalid-key");
    expect(verifyP256Sha256(point.subarray(0, 64), data, signature)).toBe("invalid-key");
  });
});
