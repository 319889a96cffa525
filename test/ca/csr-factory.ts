// Builds PKCS#10 CSRs directly in DER (fast enough for thousands per test), with the shapes
// the CA must handle: modem-like subjects, multi-RDN subjects, other string types, the
// modem's NULL-parameter signature algorithm, and wrong keys.
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import {
  encodeBitString,
  encodeOid,
  encodeSequence,
  encodeTlv,
  Tag,
  toPem,
} from "../../src/der/index.js";

export interface CsrSpec {
  /** Subject attributes in order; value string type defaults to UTF8String. */
  subject: Array<{ oid: string; value: string; tag?: number }>;
  keyType?: "p256" | "p384" | "rsa";
  /** Emit the modem's explicit NULL in signatureAlgorithm. */
  nullParameter?: boolean;
  /** Flip a bit in the signature. */
  breakSignature?: boolean;
  /** Put the P-256 point in compressed form (0x02/0x03 ‖ X) in the SPKI. */
  compressedPoint?: boolean;
}

export const OID = { CN: "2.5.4.3", O: "2.5.4.10", C: "2.5.4.6", OU: "2.5.4.11" } as const;

export interface BuiltCsr {
  der: Uint8Array;
  pem: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function buildCsr(spec: CsrSpec): BuiltCsr {
  const { privateKey, publicKey } =
    spec.keyType === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: spec.keyType === "p384" ? "P-384" : "P-256" });
  const subject = encodeSequence(
    ...spec.subject.map((a) =>
      encodeTlv(
        Tag.SET,
        encodeSequence(encodeOid(a.oid), encodeTlv(a.tag ?? Tag.UTF8_STRING, Buffer.from(a.value))),
      ),
    ),
  );
  const spki = spec.compressedPoint
    ? compressedSpki(publicKey)
    : publicKey.export({ type: "spki", format: "der" });
  const info = encodeSequence(
    encodeTlv(Tag.INTEGER, Uint8Array.of(0)),
    subject,
    spki,
    encodeTlv(Tag.CONTEXT_0),
  );
  const signatureOid = spec.keyType === "rsa" ? "1.2.840.113549.1.1.11" : "1.2.840.10045.4.3.2";
  const algorithm =
    spec.nullParameter || spec.keyType === "rsa"
      ? encodeSequence(encodeOid(signatureOid), encodeTlv(Tag.NULL))
      : encodeSequence(encodeOid(signatureOid));
  const signature = sign("sha256", info, privateKey);
  if (spec.breakSignature) signature[signature.length - 1]! ^= 0x01;
  const der = encodeSequence(info, algorithm, encodeBitString(signature));
  return { der, pem: toPem("CERTIFICATE REQUEST", der), privateKey, publicKey };
}

/** The SPKI of a P-256 key with its point compressed: the last 33 bytes become 0x02|0x03 ‖ X. */
function compressedSpki(publicKey: KeyObject): Uint8Array {
  const uncompressed = publicKey.export({ type: "spki", format: "der" });
  const point = uncompressed.subarray(uncompressed.length - 65);
  const compressed = Buffer.concat([Uint8Array.of(0x02 | (point[64]! & 1)), point.subarray(1, 33)]);
  const algorithm = uncompressed.subarray(2, uncompressed.length - 68); // AlgorithmIdentifier
  return encodeSequence(algorithm, encodeBitString(compressed));
}

/** A CSR whose subject is just CN=`commonName` (what the modem produces). */
export function modemLikeCsr(commonName: string, extra: Partial<CsrSpec> = {}): BuiltCsr {
  return buildCsr({ subject: [{ oid: OID.CN, value: commonName }], ...extra });
}

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-";

/** A random valid device ID (1–64 characters of the nRF Cloud alphabet). */
export function randomDeviceId(random: () => number = Math.random): string {
  const length = 1 + Math.floor(random() * 64);
  let id = "";
  for (let i = 0; i < length; i++) id += ID_ALPHABET[Math.floor(random() * ID_ALPHABET.length)];
  return id;
}
