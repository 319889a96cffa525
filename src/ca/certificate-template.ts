import { hash } from "node:crypto";
import {
  encodedTimeLength,
  encodeOid,
  encodeSequence,
  encodeTlv,
  OID_ECDSA_SHA256,
  Tag,
  tlvLength,
  writeHeader,
  writeTime,
} from "../der/index.js";

/** "default": v3 with the extensions nRF Cloud clients expect; "minimal": v1, no extensions. */
export type CertificateProfile = "default" | "minimal";

/** The per-certificate inputs; everything else comes from the CA. */
export interface DeviceCertificateFields {
  /** Serial magnitude (big-endian, positive). */
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** Subject Name DER, copied from the CSR. */
  subjectDer: Uint8Array;
  /** SubjectPublicKeyInfo DER, copied from the CSR. */
  spkiDer: Uint8Array;
  /** The SPKI's BIT STRING content; the subject key identifier is its SHA-1 (RFC 5280 §4.2.1.2). */
  publicKeyBits: Uint8Array;
  profile: CertificateProfile;
}

const ECDSA_WITH_SHA256 = encodeSequence(encodeOid(OID_ECDSA_SHA256));
const VERSION_3 = encodeTlv(Tag.CONTEXT_0, encodeTlv(Tag.INTEGER, Uint8Array.of(2)));
const SHA1_LENGTH = 20;
const CRITICAL = encodeTlv(Tag.BOOLEAN, Uint8Array.of(0xff));

function encodeExtension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? encodeSequence(encodeOid(oid), CRITICAL, encodeTlv(Tag.OCTET_STRING, value))
    : encodeSequence(encodeOid(oid), encodeTlv(Tag.OCTET_STRING, value));
}

/**
 * Builds device certificates from pre-encoded pieces. Issuer, algorithm identifiers and all
 * extensions but the subject key identifier are the same for every certificate a CA issues,
 * so they are encoded once here; per certificate only serial, validity, subject, key and key
 * identifier are spliced in. The test suite checks the result field by field against
 * @peculiar/x509's generator.
 */
export class DeviceCertificateTemplate {
  /** The CA facts the template was built from (batch workers rebuild it from these). */
  readonly ca: Readonly<{ subjectDer: Uint8Array; subjectKeyIdentifier: Uint8Array }>;
  /** signature AlgorithmIdentifier + issuer Name: one constant run after the serial. */
  readonly #algorithmAndIssuer: Uint8Array;
  /**
   * The [3] extensions block is constant except the 20-byte SHA-1 subject key identifier, so
   * it is kept as the bytes before those 20 and the bytes after them.
   */
  readonly #extensionsBeforeKeyId: Uint8Array;
  readonly #extensionsAfterKeyId: Uint8Array;

  constructor(ca: { subjectDer: Uint8Array; subjectKeyIdentifier: Uint8Array }) {
    this.ca = ca;
    this.#algorithmAndIssuer = new Uint8Array(Buffer.concat([ECDSA_WITH_SHA256, ca.subjectDer]));
    const basicConstraints = encodeExtension("2.5.29.19", true, encodeSequence()); // CA:FALSE
    // keyUsage digitalSignature: BIT STRING, 7 unused bits, 0x80.
    const keyUsage = encodeExtension(
      "2.5.29.15",
      true,
      encodeTlv(Tag.BIT_STRING, Uint8Array.of(7, 0x80)),
    );
    const clientAuth = encodeExtension(
      "2.5.29.37",
      false,
      encodeSequence(encodeOid("1.3.6.1.5.5.7.3.2")),
    );
    const placeholderKeyId = new Uint8Array(SHA1_LENGTH);
    const subjectKeyId = encodeExtension(
      "2.5.29.14",
      false,
      encodeTlv(Tag.OCTET_STRING, placeholderKeyId),
    );
    const authorityKeyId = encodeExtension(
      "2.5.29.35",
      false,
      encodeSequence(encodeTlv(0x80, ca.subjectKeyIdentifier)),
    );
    const extensions = encodeTlv(
      Tag.CONTEXT_3,
      encodeSequence(basicConstraints, keyUsage, clientAuth, subjectKeyId, authorityKeyId),
    );
    const keyIdEnd = extensions.length - authorityKeyId.length;
    this.#extensionsBeforeKeyId = extensions.subarray(0, keyIdEnd - SHA1_LENGTH);
    this.#extensionsAfterKeyId = extensions.subarray(keyIdEnd);
  }

  /**
   * The DER TBSCertificate to sign, written straight into one buffer (this runs once per
   * certificate on the fast path; encodeSequence over the pieces allocates each level).
   */
  buildTbs(fields: DeviceCertificateFields): Uint8Array {
    let serialStart = 0;
    const serial = fields.serial;
    while (serialStart < serial.length - 1 && serial[serialStart] === 0) serialStart++;
    const serialSign = serial[serialStart]! & 0x80 ? 1 : 0;
    const serialLength = serial.length - serialStart + serialSign;
    const validityLength = encodedTimeLength(fields.notBefore) + encodedTimeLength(fields.notAfter);
    // Minimal = X.509 v1 like Nordic's Python tool: a v3 certificate without extensions lacks
    // the authority key identifier that `openssl verify -x509_strict` demands.
    const v3 = fields.profile !== "minimal";
    const keyId = v3 ? hash("sha1", fields.publicKeyBits, "buffer") : null;
    const contentLength =
      (v3 ? VERSION_3.length : 0) +
      tlvLength(serialLength) +
      this.#algorithmAndIssuer.length +
      tlvLength(validityLength) +
      fields.subjectDer.length +
      fields.spkiDer.length +
      (keyId
        ? this.#extensionsBeforeKeyId.length + keyId.length + this.#extensionsAfterKeyId.length
        : 0);
    const out = new Uint8Array(tlvLength(contentLength));
    let at = writeHeader(out, 0, Tag.SEQUENCE, contentLength);
    if (v3) at = putBytes(out, at, VERSION_3);
    at = writeHeader(out, at, Tag.INTEGER, serialLength);
    at += serialSign; // the 0x00 sign byte is already there
    at = putBytes(out, at, serialStart === 0 ? serial : serial.subarray(serialStart));
    at = putBytes(out, at, this.#algorithmAndIssuer);
    at = writeHeader(out, at, Tag.SEQUENCE, validityLength);
    at = writeTime(out, at, fields.notBefore);
    at = writeTime(out, at, fields.notAfter);
    at = putBytes(out, at, fields.subjectDer);
    at = putBytes(out, at, fields.spkiDer);
    if (keyId) {
      at = putBytes(out, at, this.#extensionsBeforeKeyId);
      at = putBytes(out, at, keyId);
      at = putBytes(out, at, this.#extensionsAfterKeyId);
    }
    return out;
  }

  /** The final Certificate from a TBSCertificate and a DER ECDSA-Sig-Value, in one buffer. */
  assemble(tbs: Uint8Array, signatureDer: Uint8Array): Uint8Array {
    const bitStringLength = signatureDer.length + 1; // the leading "0 unused bits" byte
    const contentLength = tbs.length + ECDSA_WITH_SHA256.length + tlvLength(bitStringLength);
    const out = new Uint8Array(tlvLength(contentLength));
    let at = writeHeader(out, 0, Tag.SEQUENCE, contentLength);
    at = putBytes(out, at, tbs);
    at = putBytes(out, at, ECDSA_WITH_SHA256);
    at = writeHeader(out, at, Tag.BIT_STRING, bitStringLength);
    putBytes(out, at + 1, signatureDer); // out[at] is already 0
    return out;
  }
}

/** Copies `bytes` into `out` at `offset`; returns the offset after them. */
function putBytes(out: Uint8Array, offset: number, bytes: Uint8Array): number {
  out.set(bytes, offset);
  return offset + bytes.length;
}
